import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkSettings } from "../stacks/index.js";

export interface DatabaseNetworkArgs {
  network: NetworkSettings;
  /** The database port: the only port the security group opens. */
  port: number;
  tags: Record<string, string>;
}

/** A name part from a CIDR or group id, so each rule keeps its name when the list is reordered. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * Where the database lives and who may reach it: a DB subnet group over the configured (or,
 * in dev, the default VPC's) subnets, and a security group that admits the database port
 * from the configured CIDRs and security groups only. No egress rule: the database starts
 * no connections of its own.
 */
export class DatabaseNetwork extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly subnetIds: pulumi.Output<string[]>;
  readonly subnetGroupName: pulumi.Output<string>;
  /** As the subnet group reports them (Security Hub RDS.33 asks for tags on it). */
  readonly subnetGroupTags: pulumi.Output<Record<string, string> | undefined>;
  readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: DatabaseNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgmigrations:infra:DatabaseNetwork", name, {}, opts);
    const { network, port, tags } = args;

    this.vpcId = network.vpcId !== undefined ? pulumi.output(network.vpcId) : aws.ec2.getVpcOutput({ default: true }, { parent: this }).id;
    this.subnetIds =
      network.subnetIds !== undefined
        ? pulumi.output(network.subnetIds)
        : aws.ec2.getSubnetsOutput(
            {
              filters: [
                { name: "vpc-id", values: [this.vpcId] },
                { name: "default-for-az", values: ["true"] },
              ],
            },
            { parent: this },
          ).ids;

    const subnetGroup = new aws.rds.SubnetGroup(
      `${name}-subnets`,
      { description: `Subnets of the ${name} PostgreSQL database`, subnetIds: this.subnetIds, tags },
      { parent: this },
    );

    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: this.vpcId,
        description: `PostgreSQL ${port} from the configured sources only`,
        revokeRulesOnDelete: true,
        tags: { ...tags, Name: `${name}-sg` },
      },
      { parent: this },
    );

    for (const cidr of network.allowedCidrs) {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-from-${slug(cidr)}`,
        {
          securityGroupId: securityGroup.id,
          description: `PostgreSQL from ${cidr}`,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          ...(cidr.includes(":") ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
          tags,
        },
        { parent: this },
      );
    }
    for (const groupId of network.allowedSecurityGroupIds) {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-from-${slug(groupId)}`,
        {
          securityGroupId: securityGroup.id,
          description: `PostgreSQL from ${groupId}`,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          referencedSecurityGroupId: groupId,
          tags,
        },
        { parent: this },
      );
    }

    this.subnetGroupName = subnetGroup.name;
    this.subnetGroupTags = subnetGroup.tags;
    this.securityGroupId = securityGroup.id;
    this.registerOutputs({ vpcId: this.vpcId, subnetGroupName: this.subnetGroupName, securityGroupId: this.securityGroupId });
  }
}

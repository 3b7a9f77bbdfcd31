// The part of node-diff3 this project uses (its own types are only reachable through the
// package's ESM "exports", which this CommonJS build does not resolve).
declare module 'node-diff3' {
  export interface MergeResult {
    conflict: boolean;
    result: string[];
  }
  export function mergeDiff3(a: string[], o: string[], b: string[], options?: { label?: { a?: string; o?: string; b?: string } }): MergeResult;
}

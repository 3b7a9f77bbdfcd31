export interface ScenarioGeneratorSchema {
  spec?: string;
  name?: string;
  profile?: 'seed' | 'fast';
  outDir?: string;
  force?: boolean;
}

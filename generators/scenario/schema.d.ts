export interface ScenarioGeneratorSchema {
  spec?: string;
  scenario?: string;
  name?: string;
  profile?: 'seed' | 'fast';
  outDir?: string;
  force?: boolean;
}

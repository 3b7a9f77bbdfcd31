export interface ScenarioGeneratorSchema {
  spec?: string;
  scenario?: string;
  name?: string;
  profile?: 'seed' | 'fast';
  outDir?: string;
  force?: boolean;
  stage?: 'bare' | 'cp1' | 'cp2' | 'cp3' | 'cp4';
  solutions?: boolean;
  variant?: string;
}

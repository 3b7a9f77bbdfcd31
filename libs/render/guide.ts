// The lab guide (out/<name>/README.md): addressing, diagrams, the predicted tree, checkpoints.
import type { LabModel } from '../model/types';
import { render } from './template';

export function renderGuide(model: LabModel): string {
  return render('guide/README.md.ejs', model, {});
}

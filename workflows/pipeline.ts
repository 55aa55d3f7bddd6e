import type { PipelineInput } from '../schemas/pipeline.js';
import type { Dag, StepSpec } from './dag.js';

const fileRef = (f: PipelineInput['files']['muwclass']) => ({ name: f.name, sha256: f.sha256, bytes: f.bytes });

/**
 * The XClass training pipeline, declared once. Later stages (SED translation,
 * features, training, evaluation) attach here as steps whose inputs name the steps
 * they consume.
 */
export function buildPipeline(input: PipelineInput): Dag {
  const muwclass = input.files.muwclass;
  const steps: StepSpec[] = [
    {
      key: 'ingest',
      stage: 'ingest',
      params: { catalog: fileRef(muwclass), label_map: input.label_map },
      inputs: {},
      context: { path: muwclass.path },
    },
    {
      key: 'reference',
      stage: 'reference',
      params: { catalog: fileRef(muwclass), pipeline: 'MUWCLASS' },
      inputs: { sources: 'ingest' },
      context: { path: muwclass.path },
    },
    {
      key: 'sed',
      stage: 'sed',
      params: input.sed,
      inputs: { sources: 'ingest' },
      context: { data_dir: input.data_dir },
    },
  ];
  return { name: 'xclass-pipeline', steps };
}

import type { ClassifyContext, ClassifyParams } from '../schemas/catalog.js';
import type { ArtifactRef } from '../schemas/step.js';
import { DagBuilder } from './builder.js';
import type { Dag } from './dag.js';

/** What one classification reads from the store besides its tables. */
export interface ClassifyRefs {
  model: ArtifactRef<'train'>;
  calibration: ArtifactRef<'evaluate'> | null;
  xrayModel: ArtifactRef<'train'> | null;
  xrayCalibration: ArtifactRef<'evaluate'> | null;
}

/**
 * The classify DAG: one `classify` step whose inputs are the model, its calibration, and
 * the X-ray-only model and its calibration where there are ones, all already in the store
 * (`external`: step key -> artifact). The same DAG runs on either engine.
 */
export function buildClassifyDag(
  params: ClassifyParams,
  context: ClassifyContext,
  refs: ClassifyRefs,
): { dag: Dag; external: Record<string, ArtifactRef> } {
  const dag = new DagBuilder('xclass-classify');
  const trained = dag.external('model', 'train');
  const calibrated = refs.calibration ? dag.external('calibration', 'evaluate') : null;
  const xrayTrained = refs.xrayModel ? dag.external('xray_model', 'train') : null;
  const xrayCalibrated = refs.xrayCalibration ? dag.external('xray_calibration', 'evaluate') : null;
  dag.step({
    key: 'classify',
    stage: 'classify',
    params,
    inputs: {
      model: trained,
      ...(calibrated ? { calibration: calibrated } : {}),
      ...(xrayTrained ? { xray_model: xrayTrained } : {}),
      ...(xrayCalibrated ? { xray_calibration: xrayCalibrated } : {}),
    },
    context,
  });
  const external: Record<string, ArtifactRef> = {
    [trained.key]: refs.model,
    ...(calibrated && refs.calibration ? { [calibrated.key]: refs.calibration } : {}),
    ...(xrayTrained && refs.xrayModel ? { [xrayTrained.key]: refs.xrayModel } : {}),
    ...(xrayCalibrated && refs.xrayCalibration ? { [xrayCalibrated.key]: refs.xrayCalibration } : {}),
  };
  return { dag: dag.build(), external };
}

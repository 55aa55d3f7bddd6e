import type { ClassifyContext, ClassifyParams, ClassifyZoneParams } from '../schemas/catalog.js';
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

/** A field cut into declination zones (engine/classify-plan.ts planZones): the zones and what matching needs of the whole field. */
export interface ZonePlan {
  zones: ClassifyZoneParams['zone'][];
  field: ClassifyZoneParams['field'];
}

/**
 * The classify DAG: one `classify` step whose inputs are the model, its calibration, and
 * the X-ray-only model and its calibration where there are ones, all already in the store
 * (`external`: step key -> artifact). A field cut into zones (`zones`, more than one) is a
 * `classify_zone` step per zone, with the same inputs, and the `classify` step merges
 * them (`zone_0`, ...). The same DAG runs on either engine; on Temporal the zones spread
 * over the workers.
 */
export function buildClassifyDag(
  params: ClassifyParams,
  context: ClassifyContext,
  refs: ClassifyRefs,
  zones: ZonePlan | null = null,
): { dag: Dag; external: Record<string, ArtifactRef> } {
  const dag = new DagBuilder('xclass-classify');
  const trained = dag.external('model', 'train');
  const calibrated = refs.calibration ? dag.external('calibration', 'evaluate') : null;
  const xrayTrained = refs.xrayModel ? dag.external('xray_model', 'train') : null;
  const xrayCalibrated = refs.xrayCalibration ? dag.external('xray_calibration', 'evaluate') : null;
  const models = {
    model: trained,
    ...(calibrated ? { calibration: calibrated } : {}),
    ...(xrayTrained ? { xray_model: xrayTrained } : {}),
    ...(xrayCalibrated ? { xray_calibration: xrayCalibrated } : {}),
  };
  const zoneSteps =
    zones && zones.zones.length > 1
      ? zones.zones.map((zone) =>
          dag.step({
            key: `classify_zone/${zone.index}`,
            stage: 'classify_zone',
            params: { ...params, zone, field: zones.field },
            inputs: models,
            context,
          }),
        )
      : [];
  dag.step({
    key: 'classify',
    stage: 'classify',
    params,
    inputs: { ...models, ...Object.fromEntries(zoneSteps.map((h, k) => [`zone_${k}`, h])) },
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

import { z } from 'zod';

/** The seven XClass classes (paper section 2.1). */
const XCLASS_CLASSES = ['AGN', 'LMXB', 'HMXB', 'CV', 'LM-STAR', 'HM-STAR', 'SNR'] as const;
export const XClassLabel = z.enum(XCLASS_CLASSES);
export type XClassLabel = z.infer<typeof XClassLabel>;

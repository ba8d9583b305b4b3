/**
 * Every default-domain operator the opset upgrade knows: the since_version
 * of each of its versions (ONNX Changelog, complete through opset
 * {@linkcode MAX_OPSET}) and the converters for the versions whose change
 * matters to a valid model. An op missing here cannot be upgraded.
 *
 * @module
 */
import type { Adapter, OpHistory } from "./_context.ts";
import { axesAttrToInput } from "./axes.ts";
import { batchNormDropIsTest, batchNormInferenceOutputs, batchNormSpatial } from "./batchnorm.ts";
import { legacyBroadcast } from "./broadcast.ts";
import { clipBoundsToInputs } from "./clip.ts";
import { dropoutUpgrade } from "./dropout.ts";
import {
  castToCode,
  concatAxisRequired,
  dropConsumedInputs,
  gemmDropBroadcast,
  reshapeShapeInput,
  tileRepeats,
  topKInput,
} from "./legacy.ts";
import { padAttrsToInputs, padRenamePaddings } from "./pad.ts";
import {
  resizeAddRoi,
  resizeOptionalInputs,
  upsampleScalesAttr,
  upsampleScalesInput,
  upsampleToResize,
} from "./resize.ts";
import { sliceAttrsToInputs } from "./slice.ts";
import { softmaxAxisSemantics } from "./softmax.ts";
import { splitAttrToInput, splitInputToAttr, splitNumOutputs } from "./split.ts";

/** The highest target opset whose version histories the registry holds in full. */
export const MAX_OPSET = 21;

// Scan-8 iterated over a leading batch axis with per-batch sequence lengths; Scan-9 has neither.
const scanBatchAxis: Adapter = (node, ctx) => ctx.fail(node, "has no converter from Scan-8's batched form");

const h = (since: number[], steps?: Record<number, Adapter>): OpHistory => ({ since, steps });
const consumed = { 6: dropConsumedInputs };
const binary = { 6: dropConsumedInputs, 7: legacyBroadcast };

const HISTORIES: Record<string, OpHistory> = {
  // Element-wise math.
  Abs: h([1, 6, 13], consumed),
  Add: h([1, 6, 7, 13, 14], binary),
  Sub: h([1, 6, 7, 13, 14], binary),
  Mul: h([1, 6, 7, 13, 14], binary),
  Div: h([1, 6, 7, 13, 14], binary),
  Pow: h([1, 7, 12, 13, 15], binary),
  Mod: h([10, 13]),
  Ceil: h([1, 6, 13], consumed),
  Floor: h([1, 6, 13], consumed),
  Round: h([11]),
  Sign: h([9, 13]),
  Neg: h([1, 6, 13], consumed),
  Reciprocal: h([1, 6, 13], consumed),
  Sqrt: h([1, 6, 13], consumed),
  Exp: h([1, 6, 13], consumed),
  Log: h([1, 6, 13], consumed),
  Erf: h([9, 13]),
  Sin: h([7]),
  Cos: h([7]),
  Max: h([1, 6, 8, 12, 13], consumed),
  Min: h([1, 6, 8, 12, 13], consumed),
  Sum: h([1, 6, 8, 13], consumed),
  Mean: h([1, 6, 8, 13], consumed),
  Clip: h([1, 6, 11, 12, 13], { 6: dropConsumedInputs, 11: clipBoundsToInputs }),
  // Activations.
  Relu: h([1, 6, 13, 14], consumed),
  Sigmoid: h([1, 6, 13], consumed),
  Tanh: h([1, 6, 13], consumed),
  HardSigmoid: h([1, 6], consumed),
  HardSwish: h([14]),
  LeakyRelu: h([1, 6, 16], consumed),
  PRelu: h([1, 6, 7, 9, 16], consumed),
  Elu: h([1, 6], consumed),
  Selu: h([1, 6], consumed),
  Celu: h([12]),
  Softplus: h([1]),
  Softsign: h([1]),
  ThresholdedRelu: h([10]),
  Shrink: h([9]),
  Mish: h([18]),
  Gelu: h([20]),
  Softmax: h([1, 11, 13], { 13: softmaxAxisSemantics }),
  LogSoftmax: h([1, 11, 13], { 13: softmaxAxisSemantics }),
  Hardmax: h([1, 11, 13], { 13: softmaxAxisSemantics }),
  // Logic and comparison.
  And: h([1, 7], binary),
  Or: h([1, 7], binary),
  Xor: h([1, 7], binary),
  Not: h([1]),
  Equal: h([1, 7, 11, 13, 19], binary),
  Greater: h([1, 7, 9, 13], binary),
  Less: h([1, 7, 9, 13], binary),
  GreaterOrEqual: h([12, 16]),
  LessOrEqual: h([12, 16]),
  Where: h([9, 16]),
  IsNaN: h([9, 13, 20]),
  IsInf: h([10, 20]),
  // Convolution, pooling, normalisation.
  Conv: h([1, 11]),
  ConvTranspose: h([1, 11]),
  MaxPool: h([1, 8, 10, 11, 12]),
  AveragePool: h([1, 7, 10, 11, 19]),
  GlobalAveragePool: h([1]),
  GlobalMaxPool: h([1]),
  BatchNormalization: h([1, 6, 7, 9, 14, 15], {
    6: dropConsumedInputs,
    7: batchNormDropIsTest,
    9: batchNormSpatial,
    14: batchNormInferenceOutputs,
  }),
  InstanceNormalization: h([1, 6], consumed),
  LRN: h([1, 13]),
  LayerNormalization: h([17]),
  MeanVarianceNormalization: h([9, 13]),
  Dropout: h([1, 6, 7, 10, 12, 13], {
    6: dropoutUpgrade,
    7: dropoutUpgrade,
    10: dropoutUpgrade,
    12: dropoutUpgrade,
    13: dropoutUpgrade,
  }),
  // Linear algebra.
  MatMul: h([1, 9, 13]),
  Gemm: h([1, 6, 7, 9, 11, 13], { 6: dropConsumedInputs, 7: gemmDropBroadcast }),
  Einsum: h([12]),
  // Reductions: ReduceSum took axes as an input at 13, the others at 18.
  ReduceSum: h([1, 11, 13], { 13: axesAttrToInput }),
  ReduceMean: h([1, 11, 13, 18], { 18: axesAttrToInput }),
  ReduceProd: h([1, 11, 13, 18], { 18: axesAttrToInput }),
  ReduceSumSquare: h([1, 11, 13, 18], { 18: axesAttrToInput }),
  ReduceL1: h([1, 11, 13, 18], { 18: axesAttrToInput }),
  ReduceL2: h([1, 11, 13, 18], { 18: axesAttrToInput }),
  ReduceLogSum: h([1, 11, 13, 18], { 18: axesAttrToInput }),
  ReduceLogSumExp: h([1, 11, 13, 18], { 18: axesAttrToInput }),
  ReduceMax: h([1, 11, 12, 13, 18, 20], { 18: axesAttrToInput }),
  ReduceMin: h([1, 11, 12, 13, 18, 20], { 18: axesAttrToInput }),
  ArgMax: h([1, 11, 12, 13]),
  ArgMin: h([1, 11, 12, 13]),
  TopK: h([1, 10, 11], { 10: topKInput }),
  CumSum: h([11, 14]),
  // Control flow: every version after the first only widened the types a branch or body may carry.
  // Their subgraphs' nodes are upgraded like the outer graph's.
  If: h([1, 11, 13, 16, 19, 21]),
  Loop: h([1, 11, 13, 16, 19, 21]),
  Scan: h([8, 9, 11, 16, 19, 21], { 9: scanBatchAxis }),
  // Shapes and data movement.
  Constant: h([1, 9, 11, 12, 13, 19, 21]),
  ConstantOfShape: h([9, 20, 21]),
  Identity: h([1, 13, 14, 16, 19, 21]),
  Cast: h([1, 6, 9, 13, 19, 21], { 6: castToCode }),
  Shape: h([1, 13, 15, 19, 21]),
  Size: h([1, 13, 19, 21]),
  Reshape: h([1, 5, 13, 14, 19, 21], { 5: reshapeShapeInput }),
  Flatten: h([1, 9, 11, 13, 21]),
  Squeeze: h([1, 11, 13, 21], { 13: axesAttrToInput }),
  Unsqueeze: h([1, 11, 13, 21], { 13: axesAttrToInput }),
  Transpose: h([1, 13, 21]),
  Concat: h([1, 4, 11, 13], { 4: concatAxisRequired }),
  Split: h([1, 2, 11, 13, 18], { 2: splitInputToAttr, 13: splitAttrToInput, 18: splitNumOutputs }),
  Slice: h([1, 10, 11, 13], { 10: sliceAttrsToInputs }),
  Gather: h([1, 11, 13]),
  GatherElements: h([11, 13]),
  GatherND: h([11, 12, 13]),
  ScatterND: h([11, 13, 16, 18]),
  ScatterElements: h([11, 13, 16, 18]),
  Expand: h([8, 13]),
  Tile: h([1, 6, 13], { 6: tileRepeats }),
  Pad: h([1, 2, 11, 13, 18, 19, 21], { 2: padRenamePaddings, 11: padAttrsToInputs }),
  Range: h([11]),
  NonZero: h([9, 13]),
  OneHot: h([9, 11]),
  Trilu: h([14]),
  DepthToSpace: h([1, 11, 13]),
  SpaceToDepth: h([1, 13]),
  // Upsample was deprecated at 10: it becomes Resize-10, then follows Resize.
  Upsample: h([1, 7, 9], { 7: upsampleScalesAttr, 9: upsampleScalesInput, 10: upsampleToResize }),
  Resize: h([10, 11, 13, 18, 19], { 11: resizeAddRoi, 13: resizeOptionalInputs }),
};

/** Op type → version history, for the default ONNX domain. */
export const OPSET_REGISTRY: ReadonlyMap<string, OpHistory> = new Map(Object.entries(HISTORIES));

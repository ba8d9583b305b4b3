/**
 * The HTML report ({@linkcode renderReport}): one self-contained page with
 * inline SVG charts, for `edgeq report` and every bundle's `report.html`.
 *
 * @module
 */
export { layerWeights, type LayerWeights, renderReport, reportEval, type ReportInput, reportValidation } from "./report.ts";
export { barChart, boxPlots, esc, fiveNumbers, lineChart, stripChart } from "./svg.ts";

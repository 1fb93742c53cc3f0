export { Aggregator } from './aggregator.js';

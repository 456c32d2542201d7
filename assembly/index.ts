// The data plane's entry points: batch processing and control helpers.
export { lpm_lookup_batch } from './tables/lpm';

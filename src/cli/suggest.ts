// Moved to core so lower layers (the addon catalog) can suggest names too.
export { didYouMean } from '../core/suggest.js';

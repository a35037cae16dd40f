// The worker's workflows bundle: every workflow the worker runs is exported here.
export { reconfigureTLS } from './reconfigure-tls.js';
export { certificateRenewal } from './certificate-renewal.js';

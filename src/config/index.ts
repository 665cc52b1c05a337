/** The wg-quick configuration: parse, validate, load from disk, resolve endpoints, print safely. */
export { ConfigError, formatProblem, type ConfigProblem, type InterfaceConfig, type PeerConfig, type QuickConfig } from './types.js';
export { parseConfig, parseMeshFile } from './parse.js';
export { loadConfig, interfaceNameFromPath, MAX_CONFIG_BYTES } from './load.js';
export { endpointFromResolved, resolveEndpoints, sameResolvedEndpoint, resolutionRetries, type LookupFn, type ResolveOptions, type ResolvedEndpoint } from './resolve.js';
export { redactConfig, formatConfig, formatEndpoint, HIDDEN, type RedactedConfig } from './redact.js';
export { parseMeshSection, type MeshSettings } from './mesh.js';

// @shed/protocol/testing: generators of valid and mutated agent frames, for the fuzz tests
// of both decoders (TS here, C against a live agent). Not part of the runtime surface.
export { mutateFrame, randomFields, randomFrame, randomMessage, randomSplits, Rng, type GenerateOptions } from './agent/fuzz.js';

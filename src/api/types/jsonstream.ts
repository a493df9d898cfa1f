// The objects of a JSON progress stream (pull, import, load, push, build), as moby's
// api/types/jsonstream spells them.

/** One object of the stream (jsonstream.Message). */
export interface JSONMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message: string };
  aux?: unknown;
}

// The one door between the UI and Rust. Everything goes through `Backend`,
// typed by the bindings generated from the engine's command declarations:
// a misspelled command or a wrong payload does not type-check. Tests use the
// real `tauriBackend` with `mockIPC` from @tauri-apps/api/mocks.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { IpcError } from "./bindings/IpcError";
import type { Commands, Events } from "./bindings/ipc";

export type { Commands, Events };
export type Args<K extends keyof Commands> = Commands[K]["args"];
export type Result<K extends keyof Commands> = Commands[K]["result"];

export interface Backend {
  invoke<K extends keyof Commands>(command: K, args: Args<K>): Promise<Result<K>>;
  listen<K extends keyof Events>(
    event: K,
    handler: (payload: Events[K]) => void,
  ): Promise<() => void>;
}

/** A failed command, carrying the engine's stable code and its message. */
export class GatehouseError extends Error implements IpcError {
  readonly code: string;
  constructor({ code, message }: IpcError) {
    super(message);
    this.name = "GatehouseError";
    this.code = code;
  }
}

function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as IpcError).code === "string" &&
    typeof (value as IpcError).message === "string"
  );
}

/** Every rejection becomes a `GatehouseError`, whatever shape it arrived in. */
export function toGatehouseError(error: unknown): GatehouseError {
  if (error instanceof GatehouseError) return error;
  if (isIpcError(error)) return new GatehouseError(error);
  return new GatehouseError({ code: "ipc", message: String(error) });
}

export const tauriBackend: Backend = {
  async invoke(command, args) {
    try {
      return await invoke(command, args);
    } catch (error) {
      throw toGatehouseError(error);
    }
  },
  listen(event, handler) {
    return listen(event, (e) => handler(e.payload as Events[typeof event]));
  },
};

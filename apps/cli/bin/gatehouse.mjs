#!/usr/bin/env node
// The `gatehouse` command without a build step: register tsx's loader in this process, then run the
// TypeScript entry. One process, so exit codes and signals need no forwarding.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");

#!/usr/bin/env node
// Thin launcher: all logic lives in src/cli. Only this file sets the exit code.
import { main } from '../dist/cli/index.js';

process.exitCode = await main(process.argv.slice(2));

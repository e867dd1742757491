#!/usr/bin/env node
// Entry point of the published operator: runs the compiled composition root (npm run build → dist/).
import { mainEntry, exitOnError } from '../dist/main.js';

mainEntry().catch(exitOnError);

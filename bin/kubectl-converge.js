#!/usr/bin/env node
// `kubectl converge …`: kubectl runs any `kubectl-<name>` executable on PATH as a plugin; this is the
// converge CLI under that name (it then calls itself `kubectl converge` in help and hints).
import './converge.js';

#!/usr/bin/env node
import "../dist/cli/infergate.js";

import { containerTarget } from './container-target.js';
import { driverConformance } from './suite.js';

driverConformance('container (runc)', () => containerTarget('runc'));

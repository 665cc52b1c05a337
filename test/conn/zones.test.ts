/** The system's zone table (if_nametoindex / if_indextoname through the addon) in this process's namespace. */
import { systemZones } from '../../src/conn/zones.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const addonTest = testWhen(skipReason({ addon: true }), { concurrent: true });

addonTest('lo is index 1 both ways; unknown and invalid names or indexes are undefined', (t) => {
  t.is(systemZones.indexOf('lo'), 1);
  t.is(systemZones.nameOf(1), 'lo');
  t.is(systemZones.indexOf('tv-no-such-if'), undefined);
  for (const bad of ['', 'a/b', 'a name', 'x'.repeat(16)]) t.is(systemZones.indexOf(bad), undefined, JSON.stringify(bad));
  for (const bad of [0, -1, 1.5, 2 ** 32, 0x7fff_fff0]) t.is(systemZones.nameOf(bad), undefined, String(bad));
});

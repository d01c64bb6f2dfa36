// The XS scenario suites, run under mocha on Node (host-tests/xs/ runs the same ones inside XS).
import { suites } from "./scenarios/index.js";
import { runScenario } from "./lib/scenario.js";

const seed = process.env.SEED ?? "1";

for (const { suite, scenarios } of suites) {
  describe(`scenarios: ${suite}`, () => {
    for (const scenario of scenarios) {
      it(scenario.name, () => {
        runScenario(scenario, seed);
      });
    }
  });
}

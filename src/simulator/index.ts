/**
 * `wavegate/simulator`: the ride simulator (outbox events of riders, drivers and payments, paced or
 * as fast as possible) and the pieces of its world that example services reuse.
 */
export { createSimulator, outboxWriter, type Simulator, type SimulatorCounters, type SimulatorOptions, type Transactional } from './simulator';
export {
  CITY_CENTRE, CURRENCY, decimalToHundredths, driverId, haversineKm, hundredthsToDecimal, riderId, RideWorld,
  type PlannedEvent, type Ride, type RidePhase, type RideWorldOptions, type Step,
} from './rides';
export { Prng } from './prng';

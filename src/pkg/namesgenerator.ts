// Random container names in dockerd's adjective_surname form, from word lists of our own.
import { randomInt } from 'node:crypto';

const adjectives = [
  'agile', 'amazing', 'bold', 'brave', 'bright', 'busy', 'calm', 'careful', 'clever', 'cool',
  'curious', 'daring', 'eager', 'earnest', 'elated', 'epic', 'fervent', 'festive', 'fond', 'friendly',
  'gallant', 'gentle', 'happy', 'hardy', 'hopeful', 'humble', 'jolly', 'keen', 'kind', 'lively',
  'loyal', 'lucid', 'merry', 'modest', 'nimble', 'noble', 'patient', 'peaceful', 'plucky', 'quiet',
  'quirky', 'rapid', 'serene', 'sharp', 'silly', 'sleepy', 'steady', 'sunny', 'swift', 'tender',
  'tidy', 'upbeat', 'vibrant', 'vigilant', 'warm', 'wise', 'witty', 'zealous', 'zen', 'youthful',
];

// People who shaped computing, mathematics and science.
const surnames = [
  'agnesi', 'babbage', 'bartik', 'bell', 'boole', 'borg', 'cerf', 'church', 'clarke', 'curie',
  'darwin', 'dijkstra', 'easley', 'euclid', 'euler', 'faraday', 'fermat', 'feynman', 'franklin', 'gauss',
  'germain', 'goldberg', 'hamilton', 'hawking', 'hopper', 'hypatia', 'jackson', 'johnson', 'kepler', 'knuth',
  'lamarr', 'lamport', 'liskov', 'lovelace', 'maxwell', 'mccarthy', 'meitner', 'minsky', 'noether', 'newton',
  'pascal', 'perlman', 'planck', 'ritchie', 'shannon', 'sinoussi', 'somerville', 'tesla', 'thompson', 'torvalds',
  'turing', 'wilson', 'wing', 'wozniak', 'yalow', 'yonath', 'zuse', 'ramanujan', 'raman', 'khayyam',
];

export function randomName(retry: number): string {
  const name = `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}`;
  return retry > 0 ? `${name}${randomInt(10)}` : name;
}

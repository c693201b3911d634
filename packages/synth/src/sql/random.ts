import type { DuckDBConnection } from "@duckdb/node-api";

/**
 * Deterministic per-row randomness: every draw is DuckDB's 64-bit hash of the seed, two keys
 * (usually the person index and an event number) and a salt naming the purpose of the draw.
 * Unlike random(), the value of a row never depends on thread scheduling or row order, so the
 * same seed gives the same data whatever the machine.
 *
 * Keys must keep the same SQL types from run to run (hash() hashes the typed value): person
 * indexes are BIGINT, small literals INTEGER, salts VARCHAR.
 */
export async function installRandomFunctions(connection: DuckDBConnection, seed: number) {
  await connection.run("SET VARIABLE synth_seed = $seed::BIGINT", { seed });
  // DuckDB combines the hashes of several arguments cheaply: draws that differ only in the
  // salt come out strongly correlated (r ~ 0.5 measured). Hashing the combined hash again
  // runs it through a full avalanche mixer, which removes that (tested in random.test.ts).
  await connection.run(
    `CREATE OR REPLACE TEMP MACRO mixed_hash(key_a, key_b, salt) AS
       hash(hash(getvariable('synth_seed'), key_a, key_b, salt))`,
  );
  // The top 53 bits of the hash as a double in [0, 1).
  await connection.run(
    `CREATE OR REPLACE TEMP MACRO unit_uniform(key_a, key_b, salt) AS
       (mixed_hash(key_a, key_b, salt) >> 11)::DOUBLE / 9007199254740992.0`,
  );
  // Box-Muller; 1 - u keeps ln() away from zero.
  await connection.run(
    `CREATE OR REPLACE TEMP MACRO std_normal(key_a, key_b, salt) AS
       sqrt(-2.0 * ln(1.0 - unit_uniform(key_a, key_b, salt || '/radius')))
         * cos(2.0 * pi() * unit_uniform(key_a, key_b, salt || '/angle'))`,
  );
}

/**
 * Pseudonymous person_id: a 4-round Feistel network over 40 bits, keyed by the seed. A Feistel
 * network is a bijection, so ids are unique without a collision check, and neither their order
 * nor their gaps reveal the generation order. 10^12 is added so every id has 13 digits.
 */
export function pseudonymSql(indexColumn: string): { ctes: string; result: string } {
  const halfBits = 20;
  const mask = (1 << halfBits) - 1;
  const rounds = 4;
  const ctes = [
    `feistel_0 AS (SELECT *, ${indexColumn} >> ${halfBits} AS feistel_left, ${indexColumn} & ${mask} AS feistel_right FROM pseudonym_input)`,
  ];
  for (let round = 1; round <= rounds; round += 1) {
    ctes.push(
      `feistel_${round} AS (SELECT * REPLACE (feistel_right AS feistel_left,
         xor(feistel_left, (mixed_hash(${round}, feistel_right, 'feistel') & ${mask}::UBIGINT)::BIGINT) AS feistel_right)
       FROM feistel_${round - 1})`,
    );
  }
  return {
    ctes: ctes.join(",\n"),
    result: `(SELECT * EXCLUDE (feistel_left, feistel_right), 1000000000000 + ((feistel_left << ${halfBits}) | feistel_right) AS person_id FROM feistel_${rounds})`,
  };
}

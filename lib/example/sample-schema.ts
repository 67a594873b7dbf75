/**
 * A sports-ticketing schema in the spirit of the AWS DMS sample database (`dms_sample`), with rows
 * generated inside PostgreSQL (`generate_series`), so loading it needs no data files.
 *
 * Kept free of aws-cdk-lib imports: the source loader Lambda bundles it.
 */

/** How much data to generate. */
export interface SampleDataSize {
  /** Schema to create (and drop first, when it exists). */
  readonly schemaName: string;
  /** Number of people (ticket holders). */
  readonly people: number;
  /** Number of sporting events. */
  readonly events: number;
  /** Number of tickets. */
  readonly tickets: number;
}

export const DEFAULT_SAMPLE_SIZE: SampleDataSize = {
  schemaName: 'dms_sample',
  people: 10_000,
  events: 500,
  tickets: 100_000,
};

/** The tables the sample schema holds, in load order. */
export const SAMPLE_TABLES = [
  'sport_type',
  'sport_league',
  'venue',
  'sport_team',
  'person',
  'sporting_event',
  'seat',
  'ticket',
] as const;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 100_000_000) {
    throw new Error(`${name} must be a whole number from 1 to 100000000, got ${value}`);
  }
  return value;
}

/**
 * The SQL statements that (re)create and fill the sample schema. Deterministic: the same size
 * always produces the same rows, so a migrated copy can be compared with a fresh one.
 */
export function sampleSchemaSql(size: SampleDataSize = DEFAULT_SAMPLE_SIZE): string[] {
  const s = size.schemaName;
  if (!IDENTIFIER.test(s)) {
    throw new Error(`schemaName must be a lowercase PostgreSQL identifier (letters, digits, _), got "${s}"`);
  }
  const people = positiveInteger('people', size.people);
  const events = positiveInteger('events', size.events);
  const tickets = positiveInteger('tickets', size.tickets);

  return [
    `DROP SCHEMA IF EXISTS ${s} CASCADE`,
    `CREATE SCHEMA ${s}`,
    `CREATE TABLE ${s}.sport_type (
      name varchar(15) PRIMARY KEY,
      description text
    )`,
    `INSERT INTO ${s}.sport_type VALUES
      ('baseball', 'A bat-and-ball game played between two teams of nine players'),
      ('football', 'American football, played between two teams of eleven'),
      ('basketball', 'Played on a rectangular court between two teams of five'),
      ('hockey', 'Ice hockey; a puck, two nets, six players a side'),
      ('soccer', 'Association football ⚽ — the world''s game')`,
    `CREATE TABLE ${s}.sport_league (
      id integer PRIMARY KEY,
      sport_type_name varchar(15) NOT NULL REFERENCES ${s}.sport_type(name),
      short_name varchar(10) NOT NULL UNIQUE,
      long_name varchar(60) NOT NULL,
      description text
    )`,
    `INSERT INTO ${s}.sport_league VALUES
      (1, 'baseball', 'MLB', 'Major League Baseball', NULL),
      (2, 'football', 'NFL', 'National Football League', ''),
      (3, 'basketball', 'NBA', 'National Basketball Association', 'Founded in 1946'),
      (4, 'hockey', 'NHL', 'National Hockey League', 'Coupe Stanley — since 1917'),
      (5, 'soccer', 'MLS', 'Major League Soccer', 'Ligue majeure de soccer')`,
    `CREATE TABLE ${s}.venue (
      id integer PRIMARY KEY,
      name varchar(60) NOT NULL,
      city varchar(60) NOT NULL,
      capacity integer NOT NULL,
      location jsonb NOT NULL
    )`,
    `INSERT INTO ${s}.venue
      SELECT g, 'Venue ' || g, (ARRAY['Boston','Chicago','Seattle','Austin','Montréal'])[1 + g % 5],
             10000 + (g * 7919) % 50000,
             jsonb_build_object('lat', round((40 + (g % 9) * 0.731)::numeric, 4),
                                'lon', round((-70 - (g % 13) * 1.337)::numeric, 4),
                                'roofed', g % 3 = 0)
      FROM generate_series(1, 60) AS g`,
    `CREATE TABLE ${s}.sport_team (
      id integer PRIMARY KEY,
      name varchar(60) NOT NULL,
      abbreviated_name varchar(10),
      sport_league_id integer NOT NULL REFERENCES ${s}.sport_league(id),
      home_venue_id integer NOT NULL REFERENCES ${s}.venue(id),
      founded date
    )`,
    `INSERT INTO ${s}.sport_team
      SELECT g, 'Team ' || g, 'T' || g, 1 + g % 5, 1 + g % 60, date '1900-01-01' + (g * 997) % 40000
      FROM generate_series(1, 150) AS g`,
    `CREATE TABLE ${s}.person (
      id bigint PRIMARY KEY,
      full_name varchar(60) NOT NULL,
      email text,
      is_member boolean NOT NULL DEFAULT false,
      profile jsonb,
      created_at timestamptz NOT NULL
    )`,
    `INSERT INTO ${s}.person
      SELECT g,
             'Person ' || g || CASE WHEN g % 97 = 0 THEN ' Łukasz Ørsted' ELSE '' END,
             CASE WHEN g % 11 = 0 THEN NULL WHEN g % 13 = 0 THEN '' ELSE 'person' || g || '@example.com' END,
             g % 4 = 0,
             CASE WHEN g % 7 = 0 THEN NULL
                  ELSE jsonb_build_object('tier', g % 3, 'tags', jsonb_build_array('fan', 'team-' || (g % 150 + 1)))
             END,
             timestamptz '2020-01-01 00:00:00+00' + (g * interval '17 minutes 3 seconds')
      FROM generate_series(1, ${people}) AS g`,
    `CREATE TABLE ${s}.sporting_event (
      id bigint PRIMARY KEY,
      sport_type_name varchar(15) NOT NULL REFERENCES ${s}.sport_type(name),
      home_team_id integer NOT NULL REFERENCES ${s}.sport_team(id),
      away_team_id integer NOT NULL REFERENCES ${s}.sport_team(id),
      venue_id integer NOT NULL REFERENCES ${s}.venue(id),
      start_date_time timestamptz NOT NULL,
      sold_out boolean NOT NULL DEFAULT false
    )`,
    `INSERT INTO ${s}.sporting_event
      SELECT g, (ARRAY['baseball','football','basketball','hockey','soccer'])[1 + g % 5],
             1 + g % 150, 1 + (g + 7) % 150, 1 + g % 60,
             timestamptz '2024-03-01 18:30:00+00' + (g * interval '5 hours 45 minutes'),
             g % 10 = 0
      FROM generate_series(1, ${events}) AS g`,
    `CREATE TABLE ${s}.seat (
      venue_id integer NOT NULL REFERENCES ${s}.venue(id),
      section varchar(5) NOT NULL,
      seat_row varchar(3) NOT NULL,
      seat_no integer NOT NULL,
      seat_level smallint NOT NULL,
      PRIMARY KEY (venue_id, section, seat_row, seat_no)
    )`,
    `INSERT INTO ${s}.seat
      SELECT v, 'S' || sec, chr(64 + r), n, (sec % 3 + 1)::smallint
      FROM generate_series(1, 60) AS v, generate_series(1, 4) AS sec,
           generate_series(1, 5) AS r, generate_series(1, 10) AS n`,
    `CREATE TABLE ${s}.ticket (
      id bigint PRIMARY KEY,
      sporting_event_id bigint NOT NULL REFERENCES ${s}.sporting_event(id),
      ticketholder_id bigint REFERENCES ${s}.person(id),
      price numeric(8,2) NOT NULL,
      purchased_at timestamptz,
      is_refunded boolean NOT NULL DEFAULT false,
      details jsonb
    )`,
    `INSERT INTO ${s}.ticket
      SELECT g, 1 + g % ${events},
             CASE WHEN g % 5 = 0 THEN NULL ELSE 1 + (g * 31) % ${people} END,
             round((25 + (g % 400) * 1.25)::numeric, 2),
             CASE WHEN g % 5 = 0 THEN NULL
                  ELSE timestamptz '2024-01-01 09:00:00+00' + (g * interval '41 seconds') END,
             g % 50 = 0,
             jsonb_build_object('section', 'S' || (1 + g % 4), 'row', chr(65 + g % 5), 'seat', 1 + g % 10)
      FROM generate_series(1, ${tickets}) AS g`,
    'ANALYZE',
  ];
}

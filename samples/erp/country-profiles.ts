/**
 * The sample ERP's people, companies and places per country: first and last names, company names,
 * streets, cities with postcode patterns, phone numbers in ranges reserved for fiction, and how an
 * address is written. Tables of fictional but realistic data.
 *
 * @example
 * const p = COUNTRY_PROFILES.DE;
 * p.address(dice.pick(p.streets), 12); // 'Lindenallee 12'
 * dice.pick(p.cities).postal(dice); // '10437'
 */

import type { CountryCode } from './seed-data.js';
import type { Dice } from './seed-dice.js';

export interface CountryProfile {
  currency: 'EUR' | 'GBP';
  first: readonly string[];
  last: readonly string[];
  companyStems: readonly string[];
  companySuffixes: readonly string[];
  streets: readonly string[];
  /** Cities, each with its postcode drawn from `dice`. */
  cities: readonly { city: string; postal: (dice: Dice) => string }[];
  phone: (dice: Dice) => string;
  address: (street: string, number: number) => string;
}

/** A list written as one line of comma-separated names (the locale tables read as tables). */
function list(names: string): string[] {
  return names.split(', ');
}

/** The profiles, in the order the seed's customers take turns. */
export const COUNTRY_PROFILES: Readonly<Record<CountryCode, CountryProfile>> = {
  DE: {
    currency: 'EUR',
    first: list('Anna, Lukas, Sophie, Maximilian, Lena, Jonas, Katharina, Felix, Miriam, Tobias'),
    last: list('Schmidt, Müller, Weber, Becker, Hoffmann, Schäfer, Koch, Richter, Wolf, Krüger'),
    companyStems: list(
      'Nordwind Logistik, Rheinwerk Technik, Hansa Maschinenbau, Alpenblick Handel, Eichenhof Bau',
    ),
    companySuffixes: list('GmbH, AG, GmbH & Co. KG'),
    streets: list('Hauptstraße, Bahnhofstraße, Lindenallee, Gartenweg, Schillerstraße'),
    cities: [
      { city: 'Berlin', postal: (dice) => `10${dice.digits(3)}` },
      { city: 'Köln', postal: (dice) => `50${dice.digits(3)}` },
      { city: 'Hamburg', postal: (dice) => `20${dice.digits(3)}` },
      { city: 'München', postal: (dice) => `80${dice.digits(3)}` },
    ],
    phone: (d) => `+49 30 ${d.digits(4)} ${d.digits(4)}`,
    address: (street, n) => `${street} ${n}`,
  },
  GB: {
    currency: 'GBP',
    first: list('Oliver, Amelia, George, Isla, Harry, Ava, Charlotte, Jack, Emily, Thomas'),
    last: list('Smith, Jones, Taylor, Brown, Williams, Wilson, Evans, Thomas, Roberts, Walker'),
    companyStems: list('Thames Valley Supplies, Pennine Engineering, Harbour Freight, Kestrel Components'),
    companySuffixes: list('Ltd, plc, LLP'),
    streets: list('High Street, Station Road, Church Lane, Victoria Road, Mill Lane'),
    cities: [
      { city: 'London', postal: (dice) => `EC1A ${dice.int(1, 9)}BB` },
      { city: 'Manchester', postal: (dice) => `M${dice.int(1, 9)} ${dice.int(1, 9)}AE` },
      { city: 'Leeds', postal: (dice) => `LS${dice.int(1, 9)} ${dice.int(1, 9)}UR` },
    ],
    // Ofcom reserves 020 7946 0000–0999 for drama: real-looking, never assigned.
    phone: (d) => `+44 20 7946 0${d.digits(3)}`,
    address: (street, n) => `${n} ${street}`,
  },
  FR: {
    currency: 'EUR',
    first: list('Camille, Louis, Chloé, Hugo, Léa, Gabriel, Manon, Arthur, Inès, Jules'),
    last: list('Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau'),
    companyStems: list('Atelier Lumière, Transports Garonne, Boulangeries Réunies, Solutions Azur'),
    companySuffixes: list('SAS, SARL, SA'),
    streets: list('Rue de la République, Avenue Victor Hugo, Rue du Moulin, Boulevard Saint-Michel'),
    cities: [
      { city: 'Paris', postal: (dice) => `750${String(dice.int(1, 20)).padStart(2, '0')}` },
      { city: 'Lyon', postal: (dice) => `6900${dice.int(1, 9)}` },
      { city: 'Bordeaux', postal: () => '33000' },
    ],
    // ARCEP reserves 01 99 00 xx xx for fiction.
    phone: (d) => `+33 1 99 00 ${d.digits(2)} ${d.digits(2)}`,
    address: (street, n) => `${n} ${street}`,
  },
  NL: {
    currency: 'EUR',
    first: list('Daan, Emma, Sem, Julia, Lucas, Mila, Bram, Sanne, Thijs, Fleur'),
    last: list('de Jong, Jansen, de Vries, van den Berg, Bakker, Visser, Smit, Meijer, Mulder, Bos'),
    companyStems: list('Polder Distributie, Grachtenhuis Media, Tulpenveld Handel, Windmolen Techniek'),
    companySuffixes: list('B.V., N.V.'),
    streets: list('Kerkstraat, Dorpsstraat, Molenweg, Stationsplein, Prinsengracht'),
    cities: [
      { city: 'Amsterdam', postal: (dice) => `10${dice.digits(2)} ${dice.pick(['AB', 'KL', 'RS'])}` },
      { city: 'Rotterdam', postal: (dice) => `30${dice.digits(2)} ${dice.pick(['CD', 'GH', 'TX'])}` },
      { city: 'Utrecht', postal: (dice) => `35${dice.digits(2)} ${dice.pick(['BE', 'JP', 'ZW'])}` },
    ],
    phone: (d) => `+31 20 7${d.digits(2)} ${d.digits(4)}`,
    address: (street, n) => `${street} ${n}`,
  },
  BE: {
    currency: 'EUR',
    first: list('Noah, Olivia, Arthur, Louise, Victor, Elise, Mathis, Nora, Liam, Marie'),
    last: list('Peeters, Janssens, Maes, Jacobs, Mertens, Willems, Claes, Goossens, Wouters, Dubois'),
    companyStems: list('Brabant Verpakking, Ardennes Bois, Schelde Logistics, Atomium Consulting'),
    companySuffixes: list('BV, SRL, NV'),
    streets: list('Rue Neuve, Meir, Kerkstraat, Avenue Louise, Veldstraat'),
    cities: [
      { city: 'Brussel', postal: (dice) => `10${dice.digits(2)}` },
      { city: 'Antwerpen', postal: () => '2000' },
      { city: 'Gent', postal: () => '9000' },
    ],
    phone: (d) => `+32 2 ${d.digits(3)} ${d.digits(2)} ${d.digits(2)}`,
    address: (street, n) => `${street} ${n}`,
  },
  ES: {
    currency: 'EUR',
    first: list('Lucía, Hugo, Martina, Mateo, Sofía, Pablo, Valeria, Álvaro, Carmen, Diego'),
    last: list('García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, Gómez, Ruiz'),
    companyStems: list('Mediterráneo Suministros, Olivares del Sur, Cerámicas Levante, Transportes Ibéricos'),
    companySuffixes: list('S.L., S.A.'),
    streets: list('Calle Mayor, Avenida de la Constitución, Calle del Sol, Paseo de Gracia'),
    cities: [
      { city: 'Madrid', postal: (dice) => `280${dice.digits(2)}` },
      { city: 'Barcelona', postal: (dice) => `080${dice.digits(2)}` },
      { city: 'Valencia', postal: (dice) => `460${dice.digits(2)}` },
    ],
    phone: (d) => `+34 91 ${d.digits(3)} ${d.digits(2)} ${d.digits(2)}`,
    address: (street, n) => `${street}, ${n}`,
  },
};

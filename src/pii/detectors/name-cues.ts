/**
 * Multilingual context words of the name detector that `name-lexicon.ts` lacks: nouns for the person a
 * note is about ("Kunde", "cliente", "klant", "paziente"), titles in the forms people type them
 * ("dhr.", "Dña.", "Dott.ssa", "Eng.º"), and the short prepositions between a cue verb and the name
 * ("llama a", "parlé avec", "sprach mit").
 *
 * @example
 * ROLE_NOUNS.has('kundin') // true
 * HONORIFIC_BEFORE.test('contact dhr. ') // true
 */
import nlp from 'compromise';

/** Nouns for a person, in lower case: a capitalised one starts a run ("Kunde Max Weber"), any one cues the name after it. */
export const ROLE_NOUNS = new Set([
  // en
  'customer',
  'client',
  'contact',
  'patient',
  'tenant',
  'applicant',
  'employee',
  'user',
  'recipient',
  'sender',
  'beneficiary',
  'guest',
  'passenger',
  'member',
  'buyer',
  'seller',
  'owner',
  'driver',
  // de
  'kunde',
  'kundin',
  'mieter',
  'mieterin',
  'patientin',
  'mitarbeiter',
  'mitarbeiterin',
  'ansprechpartner',
  'ansprechpartnerin',
  'empfänger',
  'empfängerin',
  'absender',
  'absenderin',
  'antragsteller',
  'antragstellerin',
  'inhaber',
  'inhaberin',
  'gast',
  'fahrer',
  'fahrerin',
  // fr
  'cliente',
  'locataire',
  'destinataire',
  'expéditeur',
  'expéditrice',
  'interlocuteur',
  'interlocutrice',
  'patiente',
  'salarié',
  'salariée',
  'utilisateur',
  'utilisatrice',
  'bénéficiaire',
  'demandeur',
  'demandeuse',
  'propriétaire',
  'passager',
  'passagère',
  // es, it, pt
  'clienta',
  'paciente',
  'inquilino',
  'inquilina',
  'destinatario',
  'destinataria',
  'remitente',
  'usuario',
  'usuaria',
  'solicitante',
  'beneficiario',
  'beneficiaria',
  'empleado',
  'empleada',
  'paziente',
  'mittente',
  'utente',
  'intestatario',
  'intestataria',
  'referente',
  'dipendente',
  'richiedente',
  'destinatário',
  'destinatária',
  'remetente',
  'utilizador',
  'utilizadora',
  'usuário',
  'usuária',
  'funcionário',
  'funcionária',
  'requerente',
  // nl
  'klant',
  'huurder',
  'patiënt',
  'ontvanger',
  'afzender',
  'contactpersoon',
  'medewerker',
  'medewerkster',
  'aanvrager',
  'gebruiker',
  'begunstigde',
  'eigenaar',
]);

/** Titles, case-insensitive, with or without their dot, right before a name. */
export const HONORIFIC_BEFORE =
  /(?:^|[\s(,;:"'>—–-])(?:mr|mrs|ms|miss|mx|dr|drs|dra|prof|ir|ing|eng|enf|arq|herr|herrn|frau|fr|hr|m|mme|mlle|me|maître|monsieur|madame|mademoiselle|sr|sra|srta|sta|d|dª|dña|don|doña|señor|señora|señorita|dhr|mevr|mw|mej|mevrouw|meneer|mijnheer|sig|sig\.ra|sig\.na|signor|signora|signorina|dott|dott\.ssa|avv|geom|rag|senhor|senhora|dona|eng\.º|enf\.ª)\.?[ \t]+$/iu;

/** Prepositions between a cue word and the name: "llama a", "parlé avec", "sprach mit", "belde met". */
export const CUE_PREPOSITIONS = new Set([
  'a',
  'à',
  'al',
  'an',
  'to',
  'with',
  'mit',
  'avec',
  'con',
  'com',
  'met',
  'da',
  'de',
  'by',
  'von',
]);

/** A label key or label words naming a person ("Ansprechpartner", "titular_nombre" are not here). */
export const PARTICLE_TAIL =
  /(?:(?:van|von|der|den|de|del|della|di|da|du|des|la|le|dos|das|do|ter|ten|zu)[ \t]+){1,3}$/iu;

const lexicon = (nlp.model() as { one: { lexicon: Record<string, unknown> } }).one.lexicon;

/**
 * Whether compromise knows `word` as a plural or uncountable noun ("Chips", "Steel", "Cotton"): such a
 * word after a given name makes a product ("Gorgeous Plastic Chips"), not a person.
 */
export function isThingWord(word: string): boolean {
  const tags = lexicon[word.toLowerCase()];
  return typeof tags === 'string' && /^(?:Plural|Uncountable)$/.test(tags);
}

/** JSON keys and labels of things that `name-lexicon.ts` lacks (normalised: lower case, no `_`/`-`/space). */
export const THING_KEYS = new Set([
  'plan',
  'subscription',
  'tier',
  'edition',
  'package',
  'model',
  'article',
  'artikel',
  'articolo',
  'artículo',
  'artigo',
  'produit',
  'producto',
  'produto',
  'prodotto',
  'producttitle',
  'itemname',
  'offer',
  'variant',
  'collection',
  'municipality',
  'gemeente',
  'gemeinde',
  'comune',
  'municipio',
  'concelho',
]);

const adjectiveCache = new Map<string, boolean>();
/** Most words remembered by `isAdjective` (bounded: the vocabulary of a long text can be large). */
const MAX_ADJECTIVE_CACHE = 10_000;

/**
 * Whether compromise's tagger reads `word` alone as an adjective ("Gorgeous", "Ergonomic"): a run led
 * by one is a product unless a cue says person. Cached per word.
 */
export function isAdjective(word: string): boolean {
  let known = adjectiveCache.get(word);
  if (known === undefined) {
    known = nlp(word.toLowerCase()).has('#Adjective');
    if (adjectiveCache.size >= MAX_ADJECTIVE_CACHE) adjectiveCache.clear();
    adjectiveCache.set(word, known);
  }
  return known;
}

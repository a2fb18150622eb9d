/* gen_words.c - the generator's word lists and facts (see CORPUS_TEMPLATE_VERSION).
 *
 * All lists are written for this project. Changing any entry changes the
 * corpus and the evaluation sets: bump CORPUS_TEMPLATE_VERSION.
 */
#include "config.h"
#include "corpus_gen.h"

#include <stdlib.h>
#include <string.h>

/* Names avoid ordinary English words (no Rose, Mark, Grace) so that a name
 * token means a person. The held-out ones appear in stories but never in a
 * training IOI sentence. */
const gen_name gen_names[] = {
	{"Mary", 1, 0}, {"Anna", 1, 0}, {"Emma", 1, 0}, {"Sarah", 1, 0}, {"Lucy", 1, 0},
	{"Kate", 1, 0}, {"Jane", 1, 0}, {"Alice", 1, 0}, {"Lily", 1, 0}, {"Ella", 1, 0},
	{"Amy", 1, 0}, {"Ruth", 1, 0}, {"Julia", 1, 0}, {"Laura", 1, 0}, {"Sophie", 1, 0},
	{"Hannah", 1, 0}, {"Eva", 1, 0}, {"Olivia", 1, 0}, {"Mia", 1, 0}, {"Zoe", 1, 0},
	{"Molly", 1, 0}, {"Maria", 1, 0}, {"Helen", 1, 0}, {"Susan", 1, 0}, {"Linda", 1, 0},
	{"Nancy", 1, 0}, {"Betty", 1, 0}, {"Sally", 1, 0}, {"Jenny", 1, 0}, {"Lisa", 1, 0},
	{"Emily", 1, 0}, {"Chloe", 1, 0}, {"Anne", 1, 0}, {"Martha", 1, 0}, {"Sara", 1, 0},
	{"Rachel", 1, 0}, {"Rebecca", 1, 0}, {"Elizabeth", 1, 0}, {"Catherine", 1, 0}, {"Jessica", 1, 0},
	{"John", 0, 0}, {"James", 0, 0}, {"Tom", 0, 0}, {"David", 0, 0}, {"Peter", 0, 0},
	{"Paul", 0, 0}, {"Sam", 0, 0}, {"Jack", 0, 0}, {"Ben", 0, 0}, {"Leo", 0, 0},
	{"Adam", 0, 0}, {"Daniel", 0, 0}, {"Henry", 0, 0}, {"George", 0, 0}, {"Oliver", 0, 0},
	{"Harry", 0, 0}, {"Jacob", 0, 0}, {"Luke", 0, 0}, {"Ryan", 0, 0}, {"Eric", 0, 0},
	{"Kevin", 0, 0}, {"Brian", 0, 0}, {"Noah", 0, 0}, {"Ethan", 0, 0}, {"Tim", 0, 0},
	{"Joe", 0, 0}, {"Ted", 0, 0}, {"Dan", 0, 0}, {"Fred", 0, 0}, {"Nick", 0, 0},
	{"Steve", 0, 0}, {"Michael", 0, 0}, {"William", 0, 0}, {"Robert", 0, 0}, {"Thomas", 0, 0},
	{"Charles", 0, 0}, {"Edward", 0, 0}, {"Andrew", 0, 0}, {"Richard", 0, 0}, {"Matthew", 0, 0},
	/* held out of training IOI */
	{"Nora", 1, 1}, {"Clara", 1, 1}, {"Iris", 1, 1}, {"Leah", 1, 1}, {"Fiona", 1, 1},
	{"Wendy", 1, 1}, {"Paula", 1, 1}, {"Tina", 1, 1}, {"Ellen", 1, 1}, {"Megan", 1, 1},
	{"Diana", 1, 1}, {"Ada", 1, 1},
	{"Hugo", 0, 1}, {"Felix", 0, 1}, {"Oscar", 0, 1}, {"Owen", 0, 1}, {"Dylan", 0, 1},
	{"Victor", 0, 1}, {"Simon", 0, 1}, {"Kyle", 0, 1}, {"Greg", 0, 1}, {"Ivan", 0, 1},
	{"Carl", 0, 1}, {"Alan", 0, 1},
};
const size_t gen_n_names = GEN_COUNT(gen_names);

const char *const gen_places[] = {
	"park", "store", "school", "beach", "garden", "library", "zoo", "farm", "market",
	"kitchen", "river", "lake", "forest", "station", "office", "museum", "hospital",
	"playground", "bakery", "cafe", "shop", "field", "hill", "castle", "camp", "pool",
	"city", "village", "house", "barn",
};
const size_t gen_n_places = GEN_COUNT(gen_places);

const char *const gen_objects[] = {
	"ball", "book", "cup", "apple", "cake", "hat", "kite", "toy", "box", "pen", "key",
	"bag", "drink", "letter", "flower", "ring", "coin", "map", "shell", "doll", "bell",
	"bowl", "candle", "cookie", "gift", "lamp", "pencil", "pie", "card", "basket",
	"orange", "egg", "umbrella", "picture", "blanket", "spoon",
};
const size_t gen_n_objects = GEN_COUNT(gen_objects);

const char *const gen_animals[] = {
	"dog", "cat", "bird", "fish", "frog", "rabbit", "duck", "horse", "cow", "pig",
	"bear", "mouse", "sheep", "goat", "fox", "owl", "puppy", "kitten", "turtle", "hen",
};
const size_t gen_n_animals = GEN_COUNT(gen_animals);

const char *const gen_adjectives[] = {
	"big", "small", "red", "blue", "green", "yellow", "old", "new", "shiny", "soft",
	"little", "pretty", "funny", "warm", "tiny", "round", "bright", "clean", "heavy", "nice",
};
const size_t gen_n_adjectives = GEN_COUNT(gen_adjectives);

const char *const gen_feelings[] = {
	"happy", "sad", "scared", "excited", "tired", "angry", "proud", "surprised", "glad",
	"sorry", "hungry", "brave",
};
const size_t gen_n_feelings = GEN_COUNT(gen_feelings);

const char *const gen_foods[] = {
	"bread", "soup", "milk", "cake", "apples", "pie", "rice", "cheese", "cookies",
	"eggs", "carrots", "corn", "fish", "honey", "jam",
};
const size_t gen_n_foods = GEN_COUNT(gen_foods);

const char *const gen_easy_words[] = {
	"moon", "red", "cup", "tall", "tree", "sun", "door", "blue", "fast", "cold", "milk",
	"star", "bird", "rain", "sand", "song", "road", "ship", "king", "hand", "game", "wind",
	"gold", "ice", "fire", "rock", "leaf", "bell", "corn", "coat", "lamp", "fork", "nest",
	"pond", "snow", "wall", "bed", "box", "hat", "pen", "car", "bus", "egg", "cake",
	"farm", "hill", "lake", "boat", "frog", "duck", "cow", "pig", "hen", "fox", "owl",
	"soft", "warm", "dark", "loud", "slow", "sweet", "green", "pink", "brown", "white",
	"jump", "run", "sing", "read", "walk", "swim", "draw", "play", "sleep", "eat",
	"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
};
const size_t gen_n_easy_words = GEN_COUNT(gen_easy_words);

/* ---------------------------------------------------------------- facts
 * Answers are one word each, so that each is one token with its space. The
 * last CORPUS_FACT_HELDOUT phrasings of every relation are never trained.
 * Phrasings 0-7 are those of templates v1; v2 added 8-23 (questions, commands,
 * the answer inside the sentence at "{Y}", endings other than "is") because
 * with eight the model recalled a fact only in the wordings it was trained
 * on; v4 added 24-39 (more endings, the subject further from the answer)
 * because with 24 it still failed on endings it had not seen before an
 * answer. None of 8-39 shares four words in a row with a held-out phrasing
 * (tests/test_corpus.c), so the held-out ones stay new wordings. */

static const char *const capitals[][2] = {
	{"France", "Paris"}, {"Germany", "Berlin"}, {"Italy", "Rome"}, {"Spain", "Madrid"},
	{"Portugal", "Lisbon"}, {"Greece", "Athens"}, {"Egypt", "Cairo"}, {"Japan", "Tokyo"},
	{"China", "Beijing"}, {"Russia", "Moscow"}, {"England", "London"}, {"Ireland", "Dublin"},
	{"Norway", "Oslo"}, {"Sweden", "Stockholm"}, {"Finland", "Helsinki"},
	{"Denmark", "Copenhagen"}, {"Poland", "Warsaw"}, {"Austria", "Vienna"},
	{"Hungary", "Budapest"}, {"Belgium", "Brussels"}, {"Switzerland", "Bern"},
	{"Turkey", "Ankara"}, {"Iran", "Tehran"}, {"Iraq", "Baghdad"}, {"Syria", "Damascus"},
	{"Lebanon", "Beirut"}, {"Jordan", "Amman"}, {"Pakistan", "Islamabad"},
	{"Afghanistan", "Kabul"}, {"Nepal", "Kathmandu"}, {"Bangladesh", "Dhaka"},
	{"Thailand", "Bangkok"}, {"Vietnam", "Hanoi"}, {"Indonesia", "Jakarta"},
	{"Australia", "Canberra"}, {"Canada", "Ottawa"}, {"Cuba", "Havana"}, {"Peru", "Lima"},
	{"Chile", "Santiago"}, {"Colombia", "Bogota"}, {"Venezuela", "Caracas"},
	{"Ecuador", "Quito"}, {"Uruguay", "Montevideo"}, {"Brazil", "Brasilia"},
	{"Kenya", "Nairobi"}, {"Nigeria", "Abuja"}, {"Ghana", "Accra"}, {"Morocco", "Rabat"},
	{"Algeria", "Algiers"}, {"Tunisia", "Tunis"}, {"Libya", "Tripoli"},
	{"Sudan", "Khartoum"}, {"Uganda", "Kampala"}, {"Zambia", "Lusaka"},
	{"Zimbabwe", "Harare"}, {"Angola", "Luanda"}, {"Senegal", "Dakar"}, {"Mali", "Bamako"},
	{"Iceland", "Reykjavik"}, {"Romania", "Bucharest"}, {"Bulgaria", "Sofia"},
	{"Serbia", "Belgrade"}, {"Croatia", "Zagreb"}, {"Ukraine", "Kyiv"}, {"Belarus", "Minsk"},
	{"Lithuania", "Vilnius"}, {"Latvia", "Riga"}, {"Estonia", "Tallinn"}, {"Cyprus", "Nicosia"},
	{"Jamaica", "Kingston"}, {"Qatar", "Doha"}, {"Oman", "Muscat"}, {"Georgia", "Tbilisi"},
	{"Armenia", "Yerevan"}, {"Kazakhstan", "Astana"}, {"Mongolia", "Ulaanbaatar"},
};

static const char *const symbols[][2] = {
	{"hydrogen", "H"}, {"helium", "He"}, {"lithium", "Li"}, {"carbon", "C"},
	{"nitrogen", "N"}, {"oxygen", "O"}, {"fluorine", "F"}, {"neon", "Ne"},
	{"sodium", "Na"}, {"magnesium", "Mg"}, {"aluminum", "Al"}, {"silicon", "Si"},
	{"phosphorus", "P"}, {"sulfur", "S"}, {"chlorine", "Cl"}, {"argon", "Ar"},
	{"potassium", "K"}, {"calcium", "Ca"}, {"iron", "Fe"}, {"copper", "Cu"}, {"zinc", "Zn"},
	{"silver", "Ag"}, {"tin", "Sn"}, {"iodine", "I"}, {"gold", "Au"}, {"mercury", "Hg"},
	{"lead", "Pb"}, {"uranium", "U"}, {"nickel", "Ni"}, {"cobalt", "Co"},
	{"platinum", "Pt"}, {"titanium", "Ti"}, {"chromium", "Cr"}, {"manganese", "Mn"},
	{"krypton", "Kr"}, {"xenon", "Xe"}, {"radon", "Rn"}, {"tungsten", "W"}, {"boron", "B"},
	{"beryllium", "Be"},
};

static const char *const sounds[][2] = {
	{"cow", "moo"}, {"dog", "woof"}, {"cat", "meow"}, {"duck", "quack"}, {"sheep", "baa"},
	{"pig", "oink"}, {"lion", "roar"}, {"owl", "hoot"}, {"horse", "neigh"}, {"bee", "buzz"},
	{"snake", "hiss"}, {"frog", "croak"}, {"mouse", "squeak"}, {"crow", "caw"},
	{"wolf", "howl"},
};

/* The subject carries its own determiner: phrasings read "the color of {X}". */
static const char *const colors[][2] = {
	{"the sky", "blue"}, {"grass", "green"}, {"snow", "white"}, {"coal", "black"},
	{"blood", "red"}, {"a banana", "yellow"}, {"a lemon", "yellow"}, {"a carrot", "orange"},
	{"milk", "white"}, {"chocolate", "brown"}, {"a ripe tomato", "red"}, {"a cherry", "red"},
	{"the sea", "blue"}, {"a leaf in summer", "green"}, {"the night sky", "black"},
	{"an orange", "orange"},
};

static const char *const opposites[][2] = {
	{"hot", "cold"}, {"cold", "hot"}, {"big", "small"}, {"small", "big"}, {"up", "down"},
	{"down", "up"}, {"day", "night"}, {"night", "day"}, {"fast", "slow"}, {"slow", "fast"},
	{"happy", "sad"}, {"sad", "happy"}, {"light", "dark"}, {"dark", "light"},
	{"wet", "dry"}, {"dry", "wet"}, {"open", "closed"}, {"closed", "open"},
	{"full", "empty"}, {"empty", "full"}, {"early", "late"}, {"late", "early"},
	{"hard", "soft"}, {"soft", "hard"}, {"loud", "quiet"}, {"quiet", "loud"},
	{"rich", "poor"}, {"poor", "rich"}, {"strong", "weak"}, {"weak", "strong"},
	{"tall", "short"}, {"thick", "thin"}, {"thin", "thick"}, {"first", "last"},
	{"last", "first"}, {"win", "lose"}, {"lose", "win"}, {"young", "old"},
	{"inside", "outside"}, {"outside", "inside"},
};

static const char *const young[][2] = {
	{"dog", "puppy"}, {"cat", "kitten"}, {"cow", "calf"}, {"sheep", "lamb"},
	{"horse", "foal"}, {"duck", "duckling"}, {"goat", "kid"}, {"frog", "tadpole"},
	{"bear", "cub"}, {"pig", "piglet"}, {"hen", "chick"}, {"kangaroo", "joey"},
	{"deer", "fawn"}, {"swan", "cygnet"}, {"goose", "gosling"},
};

static const char *const days[][2] = {
	{"Monday", "Tuesday"}, {"Tuesday", "Wednesday"}, {"Wednesday", "Thursday"},
	{"Thursday", "Friday"}, {"Friday", "Saturday"}, {"Saturday", "Sunday"},
	{"Sunday", "Monday"},
};

static const char *const months[][2] = {
	{"January", "February"}, {"February", "March"}, {"March", "April"}, {"April", "May"},
	{"May", "June"}, {"June", "July"}, {"July", "August"}, {"August", "September"},
	{"September", "October"}, {"October", "November"}, {"November", "December"},
	{"December", "January"},
};

#define PAIRS(a) (a), GEN_COUNT(a)

const gen_relation gen_relations[] = {
	{"capital", {
		"The capital of {X} is",
		"The capital city of {X} is",
		"Q: What is the capital of {X}? A:",
		"If you travel to the capital of {X}, you will be in",
		"The biggest government buildings of {X} stand in its capital,",
		"Which city is the capital of {X}? The answer is",
		"My friend lives in {X}, in the capital city,",
		"In {X}, the capital city is",
		"Question: What is the capital of {X}? Answer:",
		"{X} has its capital in",
		"The capital of {X}, {Y}, is a busy place.",
		"People who visit {X} often start in its capital,",
		"On a map of {X}, the capital is marked as",
		"Name the capital of {X}:",
		"Ask a child from {X} to name the capital, and the child says",
		"The main city and capital of {X} is",
		"{X}? Its capital is",
		"A letter to the capital of {X} goes to",
		"The capital of the country of {X} is called",
		"When people say the capital of {X}, they mean",
		"The flag of {X} flies over its capital,",
		"We flew to {X} and landed in the capital,",
		"The capital of {X} is a city called",
		"The capital of {X}? That is",
		"The president of {X} works in",
		"The news from {X} is often reported from its capital,",
		"In {X}, most big offices are in the capital,",
		"Trains from all over {X} go to the capital,",
		"Students in {X} learn that the capital is",
		"The capital? For {X}, it is",
		"The map shows {X}, and its capital is called",
		"Of all the cities in {X}, the capital is",
		"A trip to the capital of {X} means a trip to",
		"The leader of {X} lives in",
		"The capital of {X} has a famous name:",
		"{X} is a country, and its capital is",
		"The main city of {X} is",
		"On the news, the capital of {X} was named as",
		"Our teacher asked about {X}, and the capital is",
		"People from {X} who go to the capital go to",
		/* held out */
		"The government of {X} meets in the city of",
		"Everyone in {X} knows that their capital is",
	}, PAIRS(capitals)},
	{"symbol", {
		"The chemical symbol for {X} is",
		"The symbol of {X} is",
		"Q: What is the chemical symbol for {X}? A:",
		"In chemistry, {X} is written as",
		"On the periodic table, {X} has the symbol",
		"The element {X} has the symbol",
		"Chemists write the element {X} as",
		"The short name for the element {X} is",
		"Question: What is the symbol for {X}? Answer:",
		"The element called {X} is written with the symbol",
		"The symbol for the element {X}, {Y}, is easy to remember.",
		"Every student of chemistry knows that {X} is",
		"In the table of elements, {X} is listed as",
		"To write {X} in short, chemists use",
		"The symbol we use for {X} is",
		"Name the symbol of {X}:",
		"The letters that stand for {X} are",
		"The element {X} is known by the symbol",
		"On a chart of the elements, {X} appears as",
		"The short form of {X} is",
		"The element {X}? Its symbol is",
		"The symbol used for {X} is",
		"The teacher wrote {X} on the board as",
		"In science class we learned that the symbol for {X} is",
		"{X} is written on the periodic table as",
		"The element {X} is written in short as",
		"Its name is {X}, and its symbol is",
		"For {X}, the chemists' symbol is",
		"A box on the periodic table for {X} shows",
		"Write {X} the short way:",
		"Students learn to write {X} as",
		"The one or two letters for {X} are",
		"The science book gives {X} the symbol",
		"The sign for the element {X} is",
		"When chemists mean {X}, they write",
		"The symbol? For {X}, it is",
		"On the test, the symbol of {X} was",
		"The element {X} goes by the symbol",
		"Look up {X} in the table, and you will find",
		"Short for {X} is",
		/* held out */
		"A chemist would label a jar of {X} with the symbol",
		"In a chemical formula, {X} is shown as",
	}, PAIRS(symbols)},
	{"sound", {
		"{A X} says",
		"The sound {a X} makes is",
		"Q: What sound does {a X} make? A:",
		"When {a X} is hungry, it goes",
		"Every morning the {X} would say",
		"The {X} opened its mouth and said",
		"Children learn that {a X} says",
		"Listen to the {X}. It says",
		"Question: What does {a X} say? Answer:",
		"The noise that {a X} makes is",
		"The {X} looked at me and went",
		"The sound of {a X} is",
		"What does the {X} say? It says",
		"A little boy pointed at the {X}, and it said",
		"When {a X} is happy, it makes the sound",
		"The {X} called out loudly:",
		"In the story, the {X} said",
		"Every {X} I know says",
		"{A X} makes a noise like",
		"Late at night, the {X} said",
		"The {X} in the picture book says",
		"Name the sound {a X} makes:",
		"{A X} goes",
		"The {X} woke up and said",
		"The {X} made a loud",
		"All day long the {X} said",
		"My little sister can sound like {a X}:",
		"Out in the field, the {X} said",
		"Do you know what {a X} says? It says",
		"The sound {a X} makes? It is",
		"In the song, the {X} goes",
		"The baby laughed when the {X} said",
		"With a big breath, the {X} went",
		"Outside the window, {a X} was saying",
		"The {X} was angry and said",
		"Our {X} makes one sound, and it is",
		"Every time it sees food, the {X} says",
		"The teacher made the sound of {a X}:",
		"The word for the sound of {a X} is",
		"In the morning I heard {a X} say",
		/* held out */
		"On the farm, you can hear the {X} go",
		"If you hear {a X}, the sound will be",
	}, PAIRS(sounds)},
	{"color", {
		"The color of {X} is",
		"Q: What color is {X}? A:",
		"Everyone knows that {X} is",
		"If you paint {X}, use the color",
		"A child drawing {X} picks the color",
		"In pictures, {X} is always",
		"Look at {X}. It is",
		"The usual color of {X} is",
		"Question: What color is {X}? Answer:",
		"Most of the time, {X} is",
		"To draw {X}, take a crayon that is",
		"The color you think of for {X} is",
		"A photo of {X} shows the color",
		"Name the color of {X}:",
		"What color is {X}? It is",
		"We all know {X} is",
		"In a painting, {X} is usually",
		"The color of {X}, {Y}, is easy to see.",
		"My little brother says {X} is",
		"Think of {X}. Its color is",
		"Children paint {X} with the color",
		"The right color for {X} is",
		"In a coloring book, {X} should be",
		"The color that {X} has is",
		"The paint for {X} must be",
		"In every book, {X} is drawn",
		"I like {X} because it is",
		"The color? For {X}, it is",
		"Pictures of {X} are mostly",
		"A good word for the color of {X} is",
		"If you look at {X}, you notice it is",
		"The crayon I use for {X} is",
		"My drawing of {X} is all",
		"In the picture, {X} has the color",
		"The shade of {X} is",
		"Everyone draws {X} in",
		"In the photo, {X} looks",
		"The color word for {X} is",
		"The book says {X} is",
		"Its color is clear: {X} is",
		/* held out */
		"When you see {X}, you see the color",
		"Ask anyone what color {X} is, and they will say",
	}, PAIRS(colors)},
	{"opposite", {
		"The opposite of {X} is",
		"Q: What is the opposite of {X}? A:",
		"The word that means the opposite of {X} is",
		"If something is not {X}, it may be",
		"The reverse of {X} is",
		"A word opposite to {X} is",
		"We say {X}, and the opposite is",
		"It was not {X}. It was",
		"Question: What is the opposite of {X}? Answer:",
		"The word with the opposite meaning of {X} is",
		"Not {X} but",
		"The opposite of the word {X} is",
		"Is it {X}? No, it is",
		"The words {X} and {Y} mean opposite things.",
		"Name the opposite of {X}:",
		"One is {X}, and the other is",
		"If it is not {X}, then it is",
		"The teacher said {X}, and the class said the opposite,",
		"The opposite word for {X} is",
		"What is the opposite of {X}? It is",
		"Turn {X} around and you get",
		"Which word is the opposite of {X}? The word",
		"The other side of {X} is",
		"She was not {X} at all. She was",
		"The opposite of {X}? It is",
		"{X} is one word; its opposite is",
		"Say the opposite of {X}:",
		"If you do not mean {X}, you mean",
		"The word that is the other way from {X} is",
		"Some say {X}, some say",
		"He was never {X}; he was always",
		"Put the opposite of {X} here:",
		"Not at all {X}, rather",
		"Opposites: {X} and",
		"From {X} to",
		"The game asked for the opposite of {X}, and I said",
		"We learned that the opposite of {X} is",
		"The pair of opposites is {X} and",
		"My brother is {X}, but I am",
		"The opposite word? For {X}, it is",
		/* held out */
		"The antonym of {X} is",
		"Instead of {X}, you could say the opposite:",
	}, PAIRS(opposites)},
	{"young", {
		"A baby {X} is called a",
		"Q: What do we call a baby {X}? A: a",
		"The young of a {X} is called a",
		"When a {X} has a baby, the baby is a",
		"A mother {X} takes care of her",
		"The little one of a {X} is known as a",
		"Children learn that a baby {X} is a",
		"A {X} that was just born is a",
		"Question: What is a baby {X} called? Answer: a",
		"The baby of a {X} is a",
		"The {X} had a baby, a little",
		"A newborn {X} is a",
		"Look at the little {X}! It is a",
		"On a farm, the baby of a {X} is a",
		"In English, a {X} baby is called a",
		"A baby {X}, or {Y}, sleeps a lot.",
		"Name the baby of a {X}: a",
		"The mother {X} fed her little",
		"A {X} starts life as a",
		"When it was small, the {X} was a",
		"Every {X} was once a",
		"A small child of a {X} is a",
		"The {X} and her baby, a",
		"A {X} baby is known as a",
		"The baby of the {X} was a little",
		"The farmer said the {X} had a",
		"A tiny {X} is a",
		"Our {X} just had a",
		"Before it grows up, a {X} is a",
		"What is a baby {X}? It is a",
		"In spring, the {X} had a",
		"Next to the big {X} was its",
		"A little baby {X}? That is a",
		"The baby animal of a {X} is a",
		"In books, the little {X} is drawn as a",
		"This {X} is the mother of a",
		"The {X} looked after its",
		"A {X} is big, and its baby is a",
		"At the zoo, the {X} baby is a",
		"The picture shows a {X} and its",
		/* held out */
		"We call a very young {X} a",
		"The name for a baby {X} is a",
	}, PAIRS(young)},
	{"day_after", {
		"The day after {X} is",
		"After {X} comes",
		"Q: What day comes after {X}? A:",
		"If today is {X}, tomorrow is",
		"{X} is followed by",
		"The next day after {X} is",
		"Yesterday was {X}, so today is",
		"One day after {X}, it is",
		"Question: What day comes after {X}? Answer:",
		"First comes {X}, and then comes",
		"On the calendar, {X} comes just before",
		"{X}, {Y}, and so on.",
		"After a long {X} comes",
		"The week goes {X}, then",
		"Name the day after {X}:",
		"If yesterday was {X}, today is",
		"The day that comes after {X} is",
		"The meeting was on {X}, and the next day was",
		"{X} ends at midnight, and then it is",
		"A day later than {X} is",
		"Right after {X} we have",
		"The day after {X}? It is",
		"It was {X}. The next morning it was",
		"Once {X} is over, it is",
		"We go to the market on the day after {X}, which is",
		"The shop is closed on {X} and opens again on",
		"On {X} we rest, and the next day is",
		"The calendar shows {X}, then",
		"Days of the week: {X},",
		"Count one day on from {X} and you get",
		"A week has seven days, and after {X} comes",
		"The party is the day after {X}, on",
		"From {X}, one more day brings",
		"She left on {X} and came back the next day,",
		"Which day comes right after {X}? It is",
		"After {X} is done, we have",
		"Our lesson is on {X}, and the test is a day later, on",
		"{X} comes first, and the next day is",
		"Every week, {X} is followed by",
		"Tell me the day after {X}:",
		/* held out */
		"If it is {X} today, then tomorrow will be",
		"The weekday that follows {X} is",
	}, PAIRS(days)},
	{"month_after", {
		"The month after {X} is",
		"After the month of {X} comes",
		"Q: What month comes after {X}? A:",
		"If this month is {X}, next month is",
		"The month of {X} is followed by",
		"The next month after {X} is",
		"Last month was {X}, so this month is",
		"One month after {X}, it is",
		"Question: What month comes after {X}? Answer:",
		"First comes {X}, and then comes",
		"On the calendar, {X} comes just before",
		"{X}, {Y}, and so on.",
		"A month later than {X} is",
		"The year goes {X}, then",
		"Name the month after {X}:",
		"If last month was {X}, this month is",
		"Right after {X} we have",
		"The month after {X}? It is",
		"{X} is over, and now it is",
		"My birthday is in {X}, and my sister has hers a month later, in",
		"The school trip is in {X}, and the next month is",
		"Once {X} is over, it is",
		"The page after {X} on the calendar says",
		"Right after the month of {X} comes",
		"A year has twelve months, and after {X} comes",
		"The calendar shows {X}, then",
		"Months of the year: {X},",
		"Count one month on from {X} and you get",
		"We moved in {X} and started school the next month, in",
		"From {X}, one more month brings",
		"Which month comes right after {X}? It is",
		"Tell me the month after {X}:",
		"The month after {X} is called",
		"{X} comes first, and the next month is",
		"Every year, {X} is followed by",
		"The holiday is a month after {X}, in",
		"After {X} is over, we have",
		"My aunt visits in {X} and leaves the month after, in",
		"Just one month after {X} is",
		"The sale ends in {X}, and the new sale starts in",
		/* held out */
		"When {X} ends, the new month is",
		"The month that follows {X} is",
	}, PAIRS(months)},
};
const size_t gen_n_relations = GEN_COUNT(gen_relations);

int corpus_fact_n_relations(void)
{
	return (int)gen_n_relations;
}

const char *corpus_fact_phrasing(int relation, int phrasing)
{
	if (relation < 0 || relation >= (int)gen_n_relations || phrasing < 0 ||
	    phrasing >= CORPUS_FACT_PHRASINGS)
		return NULL;
	return gen_relations[relation].phrasing[phrasing];
}

/* ---------------------------------------------------------------- forced words */

static const char **forced;
static size_t n_forced;

static void forced_add(const char *w, size_t *cap)
{
	/* Multi-word subjects ("the night sky") are not forced: only one-word
	 * strings can be one token under the Llama 3 pre-tokenizer. */
	if (strchr(w, ' '))
		return;
	char tmp[64];
	tmp[0] = ' ';
	strncpy(tmp + 1, w, sizeof tmp - 2);
	tmp[sizeof tmp - 1] = 0;
	for (size_t i = 0; i < n_forced; i++)
		if (!strcmp(forced[i], tmp))
			return;
	if (n_forced == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		forced = rs_xrealloc(forced, *cap * sizeof *forced);
	}
	forced[n_forced++] = rs_xstrdup(tmp);
}

const char *const *corpus_forced_words(size_t *n)
{
	/* Built once and kept for the life of the process (a few kB). */
	if (!forced) {
		size_t cap = 0;
		for (size_t i = 0; i < gen_n_names; i++)
			forced_add(gen_names[i].name, &cap);
		for (size_t r = 0; r < gen_n_relations; r++)
			for (size_t i = 0; i < gen_relations[r].n_pairs; i++) {
				forced_add(gen_relations[r].pairs[i][0], &cap);
				forced_add(gen_relations[r].pairs[i][1], &cap);
			}
	}
	*n = n_forced;
	return forced;
}

const char *const *corpus_heldout_names(size_t *n)
{
	static const char *held[GEN_COUNT(gen_names)];
	static size_t nh;
	if (!nh)
		for (size_t i = 0; i < gen_n_names; i++)
			if (gen_names[i].heldout)
				held[nh++] = gen_names[i].name;
	*n = nh;
	return held;
}

"""Unrelated documents to mix into the bundled corpus: does retrieval still find the right passage, and does
the decision still decline, when the library holds much more than the five press releases?

    python -m qa.eval.distractors FOLDER N [--seed S]      (or: qa eval --distractors N)

Short news items in English, Russian and Uzbek (Latin and Cyrillic script) on sport, weather, farming, trade,
culture, schools, transport, health and tourism, made from templates with varied cities, names, numbers and
dates; deterministic for a seed. They share the corpus's places (Tashkent, Samarkand, Uzbekistan) and words
(ministry, delegation, meeting, cooperation) but never its subjects, and state no fact that answers a question
of the evaluation set.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from qa.config import bundled_corpus, data_dir
from qa.errors import IndexMismatch
from qa.eval.realtext import make_documents

_SLOTS = {
    "en": {
        "city": [
            "Samarkand",
            "Bukhara",
            "Namangan",
            "Almaty",
            "Bishkek",
            "Dushanbe",
            "Berlin",
            "Istanbul",
            "Seoul",
            "Andijan",
            "Khiva",
            "Nukus",
            "Tashkent",
            "Osh",
            "Shymkent",
        ],
        "person": [
            "Dilshod Rakhimov",
            "Anna Petrova",
            "Sardor Yusupov",
            "Maria Klein",
            "Aziz Karimov",
            "Olga Smirnova",
            "Bekzod Tursunov",
            "James Miller",
            "Nodira Ismoilova",
            "Chen Wei",
        ],
        "org": [
            "the Ministry of Agriculture",
            "the city library",
            "Samarkand State University",
            "a textile company",
            "the regional hospital",
            "the national football federation",
            "a local bank",
            "the railway company",
            "the chamber of commerce",
            "a software start-up",
        ],
        "crop": ["cotton", "wheat", "apricots", "grapes", "melons", "cherries", "potatoes"],
        "sport": ["football", "wrestling", "boxing", "chess", "volleyball", "judo", "tennis"],
        "month": ["January", "March", "April", "June", "July", "August", "October", "December"],
    },
    "ru": {
        "city": [
            "Самарканде",
            "Бухаре",
            "Намангане",
            "Алматы",
            "Бишкеке",
            "Душанбе",
            "Берлине",
            "Стамбуле",
            "Андижане",
            "Хиве",
            "Нукусе",
            "Ташкенте",
            "Оше",
            "Шымкенте",
        ],
        "person": [
            "Дильшод Рахимов",
            "Анна Петрова",
            "Сардор Юсупов",
            "Мария Кляйн",
            "Азиз Каримов",
            "Ольга Смирнова",
            "Бекзод Турсунов",
            "Нодира Исмоилова",
        ],
        "org": [
            "Министерство сельского хозяйства",
            "городская библиотека",
            "Самаркандский университет",
            "текстильная компания",
            "областная больница",
            "федерация футбола",
            "местный банк",
            "железнодорожная компания",
            "торговая палата",
        ],
        "crop": ["хлопка", "пшеницы", "абрикосов", "винограда", "дынь", "черешни", "картофеля"],
        "sport": ["футболу", "борьбе", "боксу", "шахматам", "волейболу", "дзюдо", "теннису"],
        "month": ["января", "марта", "апреля", "июня", "июля", "августа", "октября", "декабря"],
    },
    "uz": {
        "city": [
            "Samarqandda",
            "Buxoroda",
            "Namanganda",
            "Olmaotada",
            "Bishkekda",
            "Dushanbeda",
            "Berlinda",
            "Andijonda",
            "Xivada",
            "Nukusda",
            "Toshkentda",
            "Qarshida",
            "Farg‘onada",
        ],
        "person": [
            "Dilshod Rahimov",
            "Anna Petrova",
            "Sardor Yusupov",
            "Aziz Karimov",
            "Bekzod Tursunov",
            "Nodira Ismoilova",
            "Gulnora Saidova",
            "Jasur Qodirov",
        ],
        "org": [
            "Qishloq xo‘jaligi vazirligi",
            "shahar kutubxonasi",
            "Samarqand davlat universiteti",
            "to‘qimachilik kompaniyasi",
            "viloyat shifoxonasi",
            "futbol federatsiyasi",
            "mahalliy bank",
            "temir yo‘l kompaniyasi",
            "savdo-sanoat palatasi",
        ],
        "crop": ["paxta", "bug‘doy", "o‘rik", "uzum", "qovun", "gilos", "kartoshka"],
        "sport": ["futbol", "kurash", "boks", "shaxmat", "voleybol", "dzyudo", "tennis"],
        "month": ["yanvar", "mart", "aprel", "iyun", "iyul", "avgust", "oktabr", "dekabr"],
    },
}

_TEMPLATES = {
    "en": {
        "titles": [
            "{City} hosts a {sport} tournament",
            "Harvest news from {city}",
            "New library opens in {city}",
            "Trade fair in {city}",
            "Railway timetable changes in {city}",
            "Spring festival in {city}",
        ],
        "sentences": [
            "On {day} {month} {year}, a {sport} tournament for young players opened in {city}.",
            "More than {n} athletes from {k} regions took part in the competition.",
            "Farmers near {city} have gathered {n} tonnes of {crop} this season, the local administration said.",
            "{Person} of {org} said that the new irrigation canal will reach the fields next year.",
            "A new reading hall with {n} seats opened at {org} in {city}.",
            "The trade fair in {city} brought together {n} companies selling furniture, textiles and dried fruit.",
            "According to {org}, trains between {city} and {city2} will run {k} times a day from {month}.",
            "Doctors at {org} in {city} carried out {n} free check-ups for children during the week.",
            "Students of {org} presented {k} projects on solar energy and water saving.",
            "A concert of folk music closed the festival, and {person} thanked the volunteers.",
            "Tourists can now buy one ticket for {k} museums in {city}, {org} announced.",
            "The winners of the {sport} final will receive medals and a trip to {city2}.",
            "Bus routes in {city} were extended by {n} kilometres to new housing districts.",
            "Local craftsmen showed ceramics, embroidery and carved wooden doors at the exhibition.",
        ],
    },
    "ru": {
        "titles": [
            "В {city} прошёл турнир по {sport}",
            "Новости урожая",
            "Новая библиотека",
            "Ярмарка в {city}",
            "Изменения в расписании поездов",
            "Весенний фестиваль",
        ],
        "sentences": [
            "{day} {month} {year} года в {city} открылся турнир по {sport} среди юношей.",
            "В соревнованиях приняли участие более {n} спортсменов из {k} областей.",
            "Фермеры собрали {n} тонн {crop} в этом сезоне, сообщила местная администрация.",
            "{Person}, представитель организации «{org}», отметил, что новый канал дойдёт до полей в следующем году.",
            "В {city} открылся новый читальный зал на {n} мест.",
            "Ярмарка в {city} собрала {n} компаний, которые продавали мебель, ткани и сухофрукты.",
            "По словам сотрудников компании, поезда будут ходить {k} раз в день начиная с {month}.",
            "Врачи в {city} провели {n} бесплатных осмотров детей за неделю.",
            "Студенты представили {k} проектов по солнечной энергетике и экономии воды.",
            "Фестиваль завершился концертом народной музыки, а {person} поблагодарил волонтёров.",
            "Туристы теперь могут купить один билет в {k} музеев города.",
            "Победители финала получат медали и поездку на экскурсию.",
            "Автобусные маршруты в {city} продлили на {n} километров до новых жилых районов.",
            "Местные мастера показали на выставке керамику, вышивку и резные деревянные двери.",
        ],
    },
    "uz": {
        "titles": [
            "{City} {sport} musobaqasi",
            "Hosil yangiliklari",
            "Yangi kutubxona ochildi",
            "{City} yarmarka",
            "Poyezdlar jadvali o‘zgardi",
            "Bahor festivali",
        ],
        "sentences": [
            "{year}-yil {day}-{month} kuni {city} yoshlar o‘rtasida {sport} musobaqasi boshlandi.",
            "Musobaqada {k} ta viloyatdan {n} dan ortiq sportchi ishtirok etdi.",
            "Fermerlar bu mavsumda {n} tonna {crop} hosilini yig‘ib olishdi, deb xabar berdi mahalliy hokimlik.",
            "{Person} ({org}) yangi kanal kelasi yili dalalarga yetib borishini aytdi.",
            "{City} {n} o‘rinli yangi o‘quv zali ochildi.",
            "{City} o‘tgan yarmarkada {n} ta kompaniya mebel, mato va quritilgan mevalarni taqdim etdi.",
            "Kompaniya xodimlariga ko‘ra, {month} oyidan poyezdlar kuniga {k} marta qatnaydi.",
            "{City} shifokorlar bir hafta ichida bolalarni {n} marta bepul tekshiruvdan o‘tkazishdi.",
            "Talabalar quyosh energiyasi va suvni tejash bo‘yicha {k} ta loyihani taqdim etishdi.",
            "Festival xalq musiqasi konserti bilan yakunlandi, {person} ko‘ngillilarga minnatdorlik bildirdi.",
            "Sayyohlar endi {k} ta muzey uchun bitta chipta sotib olishlari mumkin.",
            "Final g‘oliblari medallar va sayohat bilan taqdirlanadi.",
            "{City} avtobus yo‘nalishlari yangi turar-joy massivlarigacha {n} kilometrga uzaytirildi.",
            "Mahalliy hunarmandlar ko‘rgazmada kulolchilik, kashtachilik va o‘ymakor eshiklarni namoyish etishdi.",
        ],
    },
}

_LATIN_TO_UZ_CYRILLIC = [
    ("o‘", "ў"),
    ("g‘", "ғ"),
    ("O‘", "Ў"),
    ("G‘", "Ғ"),
    ("sh", "ш"),
    ("Sh", "Ш"),
    ("ch", "ч"),
    ("Ch", "Ч"),
    ("yo", "ё"),
    ("Yo", "Ё"),
    ("yu", "ю"),
    ("Yu", "Ю"),
    ("ya", "я"),
    ("Ya", "Я"),
    ("ye", "е"),
    ("Ye", "Е"),
    ("ng", "нг"),
    ("’", "ъ"),
    ("'", "ъ"),
]
_LATIN_LETTERS = dict(
    zip("abdefghijklmnopqrstuvxyzABDEFGHIJKLMNOPQRSTUVXYZ", "абдефгҳижклмнопқрстувхйзАБДЕФГҲИЖКЛМНОПҚРСТУВХЙЗ")
)


def to_uzbek_cyrillic(text: str) -> str:
    """A plain Latin -> Cyrillic transliteration of Uzbek (good enough for distractor text)."""
    for latin, cyrillic in _LATIN_TO_UZ_CYRILLIC:
        text = text.replace(latin, cyrillic)
    out = []
    for i, ch in enumerate(text):
        if ch in "eE" and (i == 0 or not text[i - 1].isalpha()):
            out.append("э" if ch == "e" else "Э")
        else:
            out.append(_LATIN_LETTERS.get(ch, ch))
    return "".join(out)


GROUPS = ("en", "ru", "uz", "uz-cyrl")


def _fill(template: str, slots: dict, rng: random.Random) -> str:
    city, city2 = rng.sample(slots["city"], 2)
    person = rng.choice(slots["person"])
    values = {
        "city": city,
        "City": city[:1].upper() + city[1:],
        "city2": city2,
        "person": person,
        "Person": person,
        "org": rng.choice(slots["org"]),
        "crop": rng.choice(slots["crop"]),
        "sport": rng.choice(slots["sport"]),
        "month": rng.choice(slots["month"]),
        "day": rng.randint(1, 28),
        "year": rng.choice([2019, 2021, 2022, 2023, 2025]),
        "n": rng.choice([12, 35, 48, 60, 120, 150, 240, 300, 450, 800, 1200]),
        "k": rng.randint(2, 9),
    }
    return template.format(**values)


def make_distractors(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (file name, text) pairs, the four language groups in turn."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        group = GROUPS[i % len(GROUPS)]
        lang = "uz" if group == "uz-cyrl" else group
        slots, templates = _SLOTS[lang], _TEMPLATES[lang]
        title = _fill(rng.choice(templates["titles"]), slots, rng)
        body = [_fill(t, slots, rng) for t in rng.sample(templates["sentences"], rng.randint(3, 7))]
        text = title + "\n\n" + " ".join(body) + "\n"
        if group == "uz-cyrl":
            text = to_uzbek_cyrillic(text)
        out.append((f"distractor_{i + 1:04d}_{group}.txt", text))
    return out


def write_distractors(folder: str | Path, n: int, seed: int = 0) -> list[Path]:
    return write_files(folder, make_distractors(n, seed))


def write_files(folder: str | Path, documents: list[tuple[str, str]]) -> list[Path]:
    """Write (file name, text) pairs into ``folder``; a file already holding its text is left as it is."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in documents:
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def is_template_spec(spec) -> bool:
    return str(spec).strip().isdigit()


def distractor_documents(spec, seed: int = 0) -> list[tuple[str, str]]:
    """(file name, text) for ``--distractors SPEC``: N template documents (this module), or real text
    (``real:N``, ``heldout:N``, both comma-separated: ``qa.eval.realtext``)."""
    if is_template_spec(spec):
        return make_distractors(int(spec), seed)

    return make_documents(str(spec), seed)


def default_home(spec) -> Path:
    """Where ``qa eval --distractors SPEC`` keeps its index, next to the user's data directory: one per count of
    template documents; one for all real-text specs (documents a spec does not ask for are removed, those it
    adds are kept, so moving between sizes embeds only what is new)."""
    name = f"qa-eval-distractors-{int(spec)}" if is_template_spec(spec) else "qa-eval-realtext"
    return Path(data_dir()).parent / name


def add_distractors(engine, spec, seed: int = 0, progress=None, notify=None) -> None:
    """Index the bundled corpus (if needed) and the distractor documents of ``spec`` into ``engine``'s library;
    documents already there are left alone, so a second run costs nothing, and distractors of another spec
    are removed. The folder is a cache: an index built with another configuration is rebuilt from its
    library."""
    try:
        engine.ensure_index(progress)
        engine.documents()  # opens the index: refused if built with another configuration
    except IndexMismatch:
        if notify:
            notify(
                f"the distractor index in {engine.settings.home} was built with another configuration: rebuilding it..."
            )
        engine.library.rebuild(progress=progress)
    known = {d.name for d in engine.documents()}
    folder = Path(engine.settings.home) / "distractors"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = distractor_documents(spec, seed)
    names = {name for name, _text in wanted}
    written = {p.name for p in folder.iterdir()} - {p.name for p in bundled_corpus().iterdir()}
    stale = sorted((known & written) - names)  # only documents this function wrote: never a user's own
    if stale:
        if notify:
            notify(f"removing {len(stale)} distractor documents that --distractors {spec} does not ask for...")
        for name in stale:
            engine.library.remove(name)
            (folder / name).unlink(missing_ok=True)
    paths = write_files(folder, wanted)
    missing = [p for p in paths if p.name not in known]
    if missing:
        if notify:
            notify(
                f"indexing {len(missing)} distractor documents into {engine.settings.home} (kept for the next run)..."
            )
        engine.library.add(missing, progress=progress)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.eval.distractors", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    paths = write_distractors(args.folder, args.n, args.seed)
    print(f"wrote {len(paths)} documents to {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

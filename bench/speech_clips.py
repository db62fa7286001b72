"""Spoken answers for the speech benchmark: what a candidate would say aloud about eight cards.

Written for the benchmark, not taken from the cards. Each clip is a list of (voice, text)
segments: "ru" is festival's Russian voice, "en" its English one; a mixed clip alternates them,
as a Russian speaker says English terms. The Russian voice reads Cyrillic only, so a Russian
clip spells the terms as they are said ("батчнорм", "дропаут").

The cards split in two: the design of prompts, hotwords and normalisation was tuned on the
development cards only; the held-out cards were transcribed only to report figures.
"""

from __future__ import annotations

DEVELOPMENT_CARDS = ("batchnorm", "roc-auc", "dropout", "decoding-strategies")
HELD_OUT_CARDS = ("mixed-precision", "gradient-boosting", "lora", "kv-cache-memory")

Segments = tuple[tuple[str, str], ...]


def ru(text: str) -> Segments:
    return (("ru", text),)


def en(text: str) -> Segments:
    return (("en", text),)


def mix(*texts: str) -> Segments:
    """Alternating segments, Russian first; a segment starting with '|' is English."""
    return tuple(("en", text[1:]) if text.startswith("|") else ("ru", text) for text in texts)


CLIPS: dict[str, dict[str, tuple[Segments, ...]]] = {
    "batchnorm": {
        "ru": (
            ru("Батчнорм на обучении считает среднее и дисперсию по мини батчу для каждого "
               "канала. Потом из активации вычитают среднее и делят на корень из дисперсии "
               "плюс эпсилон."),
            ru("После нормализации идут обучаемые параметры гамма и бета, это масштаб и сдвиг. "
               "На инференсе слой берёт скользящие средние, накопленные при обучении, а не "
               "статистику текущего батча."),
            ru("Если обучать на нескольких видеокартах, обычный батчнорм видит только "
               "локальный батч. Синк батчнорм собирает суммы, суммы квадратов и количество "
               "элементов со всех карт."),
        ),
        "en": (
            en("BatchNorm computes a mean and a variance for each channel over the mini batch "
               "and the spatial positions. Then it subtracts the mean and divides by the square "
               "root of the variance plus epsilon."),
            en("After normalising, a learned scale gamma and shift beta are applied per channel. "
               "At inference the layer uses the running mean and variance collected during "
               "training instead of the current batch."),
            en("With data parallelism each GPU normalises with its own local batch. "
               "SyncBatchNorm all reduces the sums, the sums of squares and the counts, so "
               "every worker gets the global mean and variance."),
        ),
        "mixed": (
            mix("Слой", "|BatchNorm", "на обучении считает среднее и дисперсию по",
                "|mini batch", "для каждого канала, а потом делит на корень из дисперсии плюс",
                "|epsilon."),
            mix("Дальше идут обучаемые", "|gamma and beta.", "На", "|inference",
                "используются", "|running mean and running variance,",
                "накопленные при обучении."),
            mix("На нескольких видеокартах нужен", "|SyncBatchNorm.", "Он делает",
                "|all reduce", "для сумм, сумм квадратов и количества элементов, и получается "
                "глобальное среднее."),
        ),
    },
    "roc-auc": {
        "ru": (
            ru("Рок кривая показывает долю истинно положительных против доли ложно "
               "положительных при разных порогах, а рок аук это площадь под ней."),
            ru("Рок аук равен вероятности того, что случайный позитивный пример получит скор "
               "выше случайного негативного. Это метрика ранжирования, а не калибровки."),
            ru("Если подать в рок аук жёсткие метки, а не вероятности, на кривой остаётся одна "
               "точка и информация о ранжировании теряется. При редких позитивах лучше смотреть "
               "на площадь под кривой точность полнота."),
        ),
        "en": (
            en("The ROC curve plots the true positive rate against the false positive rate as "
               "the threshold moves, and ROC AUC is the area under that curve."),
            en("ROC AUC is the probability that a random positive gets a higher score than a "
               "random negative, with ties counting one half. It measures ranking, not "
               "calibration."),
            en("If you pass hard labels from predict instead of probabilities, the curve has "
               "only one point inside and you lose the ranking. With rare positives I would "
               "also look at PR AUC."),
        ),
        "mixed": (
            mix("Кривая", "|ROC", "строится как", "|true positive rate", "против",
                "|false positive rate", "при разных порогах, а", "|ROC AUC",
                "это площадь под ней."),
            mix("|ROC AUC", "это вероятность, что случайный позитив получит", "|score",
                "выше случайного негатива. Она про", "|ranking,", "а не про", "|calibration."),
            mix("Если вместо", "|predict proba", "подать жёсткие метки, точка на кривой одна и "
                "ранжирование теряется. При редких позитивах лучше", "|PR AUC."),
        ),
    },
    "dropout": {
        "ru": (
            ru("Дропаут на обучении зануляет каждый нейрон с вероятностью пэ, и на каждом шаге "
               "маска новая."),
            ru("Чтобы матожидание активации не менялось, оставшиеся активации делят на один "
               "минус пэ, это инвертированный дропаут. На инференсе дропаут выключают."),
            ru("Дропаут работает как регуляризация: нейроны не могут подстраиваться друг под "
               "друга, и сеть похожа на ансамбль прореженных подсетей."),
        ),
        "en": (
            en("During training dropout zeroes each unit independently with probability p, and "
               "the random mask is different at every step."),
            en("Inverted dropout divides the kept activations by one minus p, so the expected "
               "activation stays the same. At inference we call model eval and dropout is "
               "switched off."),
            en("It regularises the network because units cannot co-adapt, so training looks "
               "like an ensemble of many thinned subnetworks that share weights."),
        ),
        "mixed": (
            mix("|Dropout", "на обучении зануляет каждый нейрон с вероятностью", "|p,",
                "и маска на каждом шаге новая."),
            mix("Это", "|inverted dropout:", "оставшиеся активации делят на один минус",
                "|p.", "На", "|inference", "вызываем", "|model eval", "и он выключается."),
            mix("|Dropout", "это регуляризация: нейроны не могут", "|co-adapt,",
                "и сеть похожа на", "|ensemble", "прореженных подсетей."),
        ),
    },
    "decoding-strategies": {
        "ru": (
            ru("Жадное декодирование на каждом шаге берёт токен с максимальной вероятностью. "
               "Оно детерминированное, но на длинных текстах часто зацикливается."),
            ru("Бим сёрч держит несколько лучших префиксов по сумме логарифмов вероятностей, "
               "поэтому ему нужна нормализация по длине, иначе он любит короткие ответы."),
            ru("Температура делит логиты перед софтмаксом. Топ ка оставляет фиксированное число "
               "токенов, а топ пи берёт наименьший набор, чья суммарная вероятность достигает "
               "пи."),
        ),
        "en": (
            en("Greedy decoding takes the argmax token at every step. It is deterministic and "
               "fine for short answers, but on long open ended text it tends to loop."),
            en("Beam search keeps the few prefixes with the highest total log probability. "
               "Since summed log probabilities favour short outputs, it needs length "
               "normalisation."),
            en("Temperature divides the logits before the softmax. Top k keeps a fixed number "
               "of tokens, while top p keeps the smallest set whose cumulative probability "
               "reaches p."),
        ),
        "mixed": (
            mix("|Greedy decoding", "на каждом шаге берёт", "|argmax",
                "токен. Оно детерминированное, но на длинном тексте зацикливается."),
            mix("|Beam search", "хранит лучшие префиксы по сумме", "|log probabilities,",
                "поэтому нужна", "|length normalization."),
            mix("|Temperature", "делит", "|logits", "перед", "|softmax. Top k",
                "оставляет фиксированное число токенов, а", "|top p",
                "адаптирует размер набора."),
        ),
    },
    "mixed-precision": {
        "ru": (
            ru("При смешанной точности автокаст выполняет подходящие операции в половинной "
               "точности, а чувствительные операции, например софтмакс и функцию потерь, "
               "оставляет в полной точности."),
            ru("Мастер веса и состояние оптимизатора хранятся в полной точности. Маленькие "
               "градиенты могут обнуляться, поэтому лосс умножают на большой множитель, а перед "
               "шагом оптимизатора делят градиенты обратно."),
            ru("У бифлоат диапазон экспоненты как у обычного флоата, но мантисса короче, "
               "поэтому скейлер ему обычно не нужен. Больше всего памяти в глубоких сетях "
               "занимают активации."),
        ),
        "en": (
            en("Autocast runs matrix multiplications in FP16 or BF16 and keeps fragile "
               "operations like softmax, reductions and the loss in FP32."),
            en("The master weights and the optimizer state stay in FP32. With FP16 small "
               "gradients underflow, so GradScaler scales the loss before backward and "
               "unscales the gradients before the optimizer step."),
            en("BF16 has the same exponent range as FP32 but fewer mantissa bits, so it rarely "
               "needs loss scaling. In deep networks the activations usually take most of the "
               "memory."),
        ),
        "mixed": (
            mix("|Autocast", "считает матричные умножения в", "|FP16", "или", "|BF16,",
                "а", "|softmax", "и функцию потерь оставляет в", "|FP32."),
            mix("|Master weights", "и состояние оптимизатора хранятся в", "|FP32.",
                "Чтобы маленькие градиенты не обнулялись, нужен", "|GradScaler.",
                "Он масштабирует", "|loss", "перед", "|backward."),
            mix("У", "|BF16", "диапазон как у", "|FP32,",
                "но меньше бит мантиссы. Больше всего памяти обычно занимают",
                "|activations."),
        ),
    },
    "gradient-boosting": {
        "ru": (
            ru("Градиентный бустинг строит деревья последовательно, каждое новое дерево учится "
               "на антиградиенте функции потерь, то есть на остатках текущего ансамбля, с "
               "маленьким шагом обучения."),
            ru("Случайный лес обучает глубокие деревья независимо на бутстрэп выборках со "
               "случайными подмножествами признаков и усредняет их, это в основном снижает "
               "дисперсию."),
            ru("Бустинг на неглубоких деревьях снижает смещение, но если добавлять раунды "
               "слишком долго, он переобучается, поэтому нужна ранняя остановка по валидации. "
               "Лес от числа деревьев не переобучается."),
        ),
        "en": (
            en("Gradient boosting builds trees one after another, and each new tree fits the "
               "negative gradient of the loss, the residuals of the current ensemble, scaled by "
               "a learning rate."),
            en("A random forest trains deep trees independently on bootstrap samples with "
               "random feature subsets and averages them, which mostly reduces variance."),
            en("Boosting with shallow trees mainly reduces bias, but it overfits if you run too "
               "many rounds, so you need early stopping on a validation set. More trees do not "
               "make a forest overfit."),
        ),
        "mixed": (
            mix("|Gradient boosting", "строит деревья последовательно, каждое учится на",
                "|residuals", "текущего ансамбля с маленьким", "|learning rate."),
            mix("|Random forest", "обучает глубокие деревья независимо на", "|bootstrap",
                "выборках и усредняет их, это снижает", "|variance."),
            mix("Бустинг снижает", "|bias,",
                "но при большом числе раундов переобучается, поэтому нужен", "|early stopping",
                "по валидации."),
        ),
    },
    "lora": {
        "ru": (
            ru("Лора замораживает предобученную матрицу весов и учит низкоранговую добавку, "
               "произведение двух маленьких матриц бэ и а ранга эр."),
            ru("Обучаемых параметров становится на порядки меньше, и состояние оптимизатора "
               "тоже сжимается. Матрицу бэ инициализируют нулями, поэтому обучение стартует с "
               "базовой модели."),
            ru("После обучения адаптер можно влить в основные веса, и на инференсе задержки не "
               "будет. Кьюлора хранит замороженную базовую модель в четырёх битах, а адаптеры "
               "учит в большей точности."),
        ),
        "en": (
            en("LoRA freezes the pretrained weight matrix and learns a low rank update, the "
               "product of two small matrices B and A with rank r."),
            en("The adapter has r times d plus k parameters instead of d times k, so the "
               "trainable parameters and the optimizer state shrink by orders of magnitude. "
               "B starts at zero, so training begins from the base model."),
            en("After training the update can be merged into the weights, so inference has no "
               "extra latency. QLoRA keeps the frozen base model in four bit and trains the "
               "adapters in higher precision."),
        ),
        "mixed": (
            mix("|LoRA", "замораживает исходные веса и учит", "|low rank",
                "добавку, произведение матриц", "|B and A."),
            mix("Обучаемых параметров на порядки меньше, и", "|optimizer state",
                "тоже меньше. Матрица", "|B", "стартует с нуля."),
            mix("После обучения адаптер можно", "|merge", "в веса, и на", "|inference",
                "задержки нет.", "|QLoRA", "хранит базовую модель в четырёх битах."),
        ),
    },
    "kv-cache-memory": {
        "ru": (
            ru("Размер кэша это два, на ключи и значения, умножить на число слоёв, число голов "
               "ключей и значений, размерность головы, длину последовательности, размер батча и "
               "байты на элемент."),
            ru("Важно число голов ключей и значений, а не голов запросов. В групповом внимании "
               "несколько голов запросов делят одну голову ключей, поэтому кэш меньше во "
               "столько же раз."),
            ru("Каждый шаг декодирования читает весь кэш каждой активной последовательности, "
               "поэтому большой кэш стоит не только памяти, но и пропускной способности. "
               "Свободная память после весов ограничивает размер батча."),
        ),
        "en": (
            en("The KV cache takes two, for keys and values, times the number of layers, times "
               "the KV heads, times the head dimension, times the sequence length, times the "
               "batch, times bytes per element."),
            en("What matters is the number of key value heads, not query heads. Grouped query "
               "attention shares each KV head within a group, so the cache shrinks by that "
               "ratio."),
            en("Every decode step reads the whole cache of each active sequence, so a large "
               "cache costs bandwidth and latency, not only capacity. The free memory after the "
               "weights limits the batch size."),
        ),
        "mixed": (
            mix("|KV cache", "равен двум, на ключи и значения, умноженным на число слоёв, "
                "число", "|KV heads,", "размерность головы и длину последовательности."),
            mix("Считать надо по", "|key value heads,", "а не по", "|query heads.",
                "|Grouped query attention", "делит одну голову ключей между несколькими "
                "запросами."),
            mix("Каждый шаг", "|decode", "читает весь кэш, поэтому он стоит",
                "|memory bandwidth", "и задержки. Обычно именно кэш, а не веса, ограничивает",
                "|batch size."),
        ),
    },
}

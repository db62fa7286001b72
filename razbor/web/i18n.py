"""Interface strings: Russian by default, as in the original trainer, and English on request."""

from __future__ import annotations

LANGUAGES = ("ru", "en")

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"ru": "razbor — тренажёр ML-собеседований",
                  "en": "razbor — ML interview trainer"},
    "home": {"ru": "Главная", "en": "Home"},
    "browse": {"ru": "Карточки", "en": "Cards"},
    "stats": {"ru": "Статистика", "en": "Statistics"},
    "practice_all": {"ru": "Практиковать всё", "en": "Practise everything"},
    "practice": {"ru": "Практика", "en": "Practise"},
    "topic": {"ru": "Тема", "en": "Topic"},
    "all_topics": {"ru": "Все темы", "en": "All topics"},
    "due": {"ru": "к повторению", "en": "due"},
    "new": {"ru": "новых", "en": "new"},
    "learned": {"ru": "выучено", "en": "learned"},
    "attempt_label": {"ru": "Ваша попытка", "en": "Your attempt"},
    "attempt_placeholder": {"ru": "Тезисы, формулы, план ответа…",
                            "en": "Bullet points, formulas, your plan…"},
    "submit_attempt": {"ru": "Отправить попытку", "en": "Submit attempt"},
    "answered_aloud": {"ru": "Я ответил вслух", "en": "I answered aloud"},
    "locked_note": {"ru": "Откройте разбор только после своей попытки.",
                    "en": "The analysis opens after your attempt."},
    "reveal": {"ru": "Показать разбор", "en": "Show analysis"},
    "short_answer": {"ru": "Короткий ответ", "en": "Short answer"},
    "analysis": {"ru": "Подробный разбор", "en": "Detailed analysis"},
    "mistakes": {"ru": "Типичные ошибки", "en": "Typical mistakes"},
    "interview": {"ru": "Как сказать на собеседовании", "en": "How to say it in the interview"},
    "rate_prompt": {"ru": "Насколько хорошо вы ответили?", "en": "How well did you answer?"},
    "rating_1": {"ru": "Снова", "en": "Again"},
    "rating_2": {"ru": "Трудно", "en": "Hard"},
    "rating_3": {"ru": "Хорошо", "en": "Good"},
    "rating_4": {"ru": "Легко", "en": "Easy"},
    "rated_as": {"ru": "Оценка", "en": "Rated"},
    "next_due": {"ru": "Следующее повторение", "en": "Next review"},
    "next_card": {"ru": "Следующая карточка", "en": "Next card"},
    "aloud_marker": {"ru": "Ответ вслух", "en": "Answered aloud"},
    "time_spent": {"ru": "Время", "en": "Time"},
    "history": {"ru": "История попыток", "en": "Attempt history"},
    "no_attempts": {"ru": "Попыток ещё не было.", "en": "No attempts yet."},
    "not_rated": {"ru": "без оценки", "en": "not rated"},
    "done_title": {"ru": "На сегодня всё", "en": "All done for now"},
    "done_text": {"ru": "Нет карточек к повторению и исчерпан лимит новых.",
                  "en": "Nothing is due and today's new cards are used up."},
    "search": {"ru": "Поиск", "en": "Search"},
    "search_placeholder": {"ru": "слово из вопроса или ответа", "en": "a word of the question"},
    "found": {"ru": "Найдено карточек", "en": "Cards found"},
    "difficulty": {"ru": "Сложность", "en": "Difficulty"},
    "error": {"ru": "Ошибка", "en": "Error"},
    "reviews_per_day": {"ru": "Повторений по дням", "en": "Reviews per day"},
    "retention": {"ru": "Измеренное удержание", "en": "Measured retention"},
    "no_data": {"ru": "пока нет данных", "en": "no data yet"},
    "keys_hint": {"ru": "Ctrl+Enter — отправить, Пробел — разбор, 1–4 — оценка",
                  "en": "Ctrl+Enter submits, Space reveals, 1–4 rate"},
    "language_switch": {"ru": "English", "en": "Русский"},
    "feedback": {"ru": "Разбор вашей попытки", "en": "Feedback on your attempt"},
    "points_covered": {"ru": "ключевых пунктов раскрыто", "en": "key points covered"},
    "missed": {"ru": "не прозвучало", "en": "missed"},
    "mistakes_made": {"ru": "Ошибки в ответе", "en": "Mistakes in the answer"},
    "suggested": {"ru": "предложено", "en": "suggested"},
    "suggested_hint": {"ru": "Enter — принять предложенную оценку, 1–4 — выбрать свою.",
                       "en": "Enter accepts the suggested rating; 1–4 choose your own."},
}


def translator(lang: str):
    """A lookup function for one language; unknown keys fall back to the key itself."""
    lang = lang if lang in LANGUAGES else "ru"

    def translate(key: str) -> str:
        return STRINGS.get(key, {}).get(lang, key)

    return translate

"""Interface strings: Russian by default, as in the original trainer, and English on request."""

from __future__ import annotations

import re

from razbor.cards import DEFAULT_INSTRUCTION

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
    "grading_queued": {"ru": "Ответ ещё проверяется: разбор появится здесь через несколько "
                             "секунд.",
                       "en": "Your answer is still being graded: the feedback will appear here "
                             "in a few seconds."},
    "grading_reload": {"ru": "Обновить", "en": "Reload"},
    "record": {"ru": "Записать ответ", "en": "Record answer"},
    "related": {"ru": "Что спросят дальше", "en": "Follow-up questions"},
    "run_lab": {"ru": "Проверить утверждения в лаборатории", "en": "Check the claims in a lab"},
    "lab": {"ru": "Лаборатория", "en": "Lab"},
    "lab_cli": {"ru": "То же в терминале:", "en": "The same in a terminal:"},
    "lab_computing": {"ru": "Лаборатория считает… Страница обновится сама.",
                      "en": "The lab is computing… This page reloads by itself."},
    "stop_recording": {"ru": "Остановить запись", "en": "Stop recording"},
    "upload_audio": {"ru": "Аудиофайл…", "en": "Audio file…"},
    "upload": {"ru": "Загрузить", "en": "Upload"},
    "speech_disabled": {"ru": "Запись ответа выключена. Чтобы включить: pip install "
                        "'razbor[speech]' и перезапустите razbor serve.",
                        "en": "Recording is off. To enable it: pip install 'razbor[speech]' "
                        "and restart razbor serve."},
    "transcribing": {"ru": "Распознаём запись…", "en": "Transcribing…"},
    "transcription_failed": {"ru": "Не удалось распознать запись",
                             "en": "Transcription failed"},
    "transcript_label": {"ru": "Расшифровка (можно поправить)",
                         "en": "Transcript (you can edit it)"},
    "settings": {"ru": "Настройки", "en": "Settings"},
    "record_answers": {"ru": "Записывать ответы вслух", "en": "Record spoken answers"},
    "interface_language": {"ru": "Язык интерфейса", "en": "Interface language"},
    "save": {"ru": "Сохранить", "en": "Save"},
    "delivery": {"ru": "Как прозвучал ответ", "en": "Delivery"},
    "duration": {"ru": "Длительность", "en": "Duration"},
    "words": {"ru": "слов", "en": "words"},
    "pace": {"ru": "Темп", "en": "Pace"},
    "wpm": {"ru": "слов/мин", "en": "words/min"},
    "pace_slow": {"ru": "медленно", "en": "slow"},
    "pace_fast": {"ru": "быстро", "en": "fast"},
    "pace_comfortable": {"ru": "комфортно", "en": "comfortable"},
    "fillers": {"ru": "Слова-паразиты", "en": "Filler words"},
    "long_pauses": {"ru": "Долгие паузы", "en": "Long pauses"},
    "after": {"ru": "после", "en": "after"},
    "none": {"ru": "нет", "en": "none"},
    "first_point": {"ru": "До первого ключевого пункта", "en": "Until the first key point"},
    "of_answer": {"ru": "ответа", "en": "of the answer"},
    "not_reached": {"ru": "не прозвучал", "en": "never reached"},
    "points_covered": {"ru": "ключевых пунктов раскрыто", "en": "key points covered"},
    "missed": {"ru": "не прозвучало", "en": "missed"},
    "mistakes_made": {"ru": "Ошибки в ответе", "en": "Mistakes in the answer"},
    "suggested": {"ru": "предложено", "en": "suggested"},
    "suggested_hint": {"ru": "Enter — принять предложенную оценку, 1–4 — выбрать свою.",
                       "en": "Enter accepts the suggested rating; 1–4 choose your own."},
    "menu": {"ru": "Разделы", "en": "Sections"},
    "file_chosen": {"ru": "файл выбран", "en": "file chosen"},
    "microphone_unavailable": {"ru": "Микрофон недоступен",
                               "en": "The microphone is unavailable"},
    "speech_language": {"ru": "Язык ответов вслух", "en": "Language of spoken answers"},
    "speech_language_auto": {"ru": "Определять по записи", "en": "Detect from the recording"},
    "speech_language_ru": {"ru": "Русский (английские термины тоже)",
                           "en": "Russian (English terms too)"},
    "speech_language_en": {"ru": "Английский", "en": "English"},
    "default_instruction": {"ru": DEFAULT_INSTRUCTION,
                            "en": "Answer first, aloud or in bullet points: formulas, the plan "
                            "of a solution, risks and examples."},
    "sign_in": {"ru": "Вход", "en": "Sign in"},
    "sign_out": {"ru": "Выйти", "en": "Sign out"},
    "user_name": {"ru": "Имя пользователя", "en": "User name"},
    "password": {"ru": "Пароль", "en": "Password"},
    "password_again": {"ru": "Пароль ещё раз", "en": "Password again"},
    "no_account": {"ru": "Нет учётной записи? Попросите администратора прислать приглашение.",
                   "en": "No account? Ask an administrator for an invitation link."},
    "wrong_login": {"ru": "Неверное имя или пароль.", "en": "Wrong name or password."},
    "too_many_failures": {"ru": "Слишком много неудачных попыток входа. Подождите 15 минут.",
                          "en": "Too many failed sign-ins. Wait 15 minutes and try again."},
    "join": {"ru": "Регистрация по приглашению", "en": "Join by invitation"},
    "create_account": {"ru": "Создать учётную запись", "en": "Create account"},
    "invitation_closed": {"ru": "Приглашение использовано, истекло или не существует. "
                          "Попросите новую ссылку.",
                          "en": "This invitation is used up, expired or unknown. Ask for a "
                          "new link."},
    "change_password": {"ru": "Смена пароля", "en": "Change password"},
    "current_password": {"ru": "Текущий пароль", "en": "Current password"},
    "new_password": {"ru": "Новый пароль", "en": "New password"},
    "wrong_password": {"ru": "Текущий пароль неверен.", "en": "The current password is wrong."},
    "password_changed": {"ru": "Пароль изменён; другие сеансы завершены.",
                         "en": "Password changed; your other sessions were signed out."},
    "team": {"ru": "Команда", "en": "Team"},
    "invite": {"ru": "Пригласить", "en": "Invite"},
    "invitation_link": {"ru": "Одноразовая ссылка (7 дней):",
                        "en": "One-time link (valid 7 days):"},
    "create_invitation": {"ru": "Создать ссылку-приглашение", "en": "Create an invitation link"},
    "members": {"ru": "Участники", "en": "Members"},
    "role": {"ru": "Роль", "en": "Role"},
    "attempts_count": {"ru": "Попыток", "en": "Attempts"},
    "reviews_count": {"ru": "Оценок", "en": "Ratings"},
    "last_review": {"ru": "Последнее повторение", "en": "Last review"},
    "deactivate": {"ru": "Отключить", "en": "Deactivate"},
    "activate": {"ru": "Включить", "en": "Activate"},
    "team_missed_points": {"ru": "Ключевые пункты, которые команда упускает чаще всего",
                           "en": "Key points the team misses most"},
    "team_missed_cards": {"ru": "Карточки, где команда упускает больше всего",
                          "en": "Cards where the team misses most"},
    "card": {"ru": "Карточка", "en": "Card"},
    "key_point": {"ru": "Ключевой пункт", "en": "Key point"},
    "missed_share": {"ru": "Упущено", "en": "Missed"},
    "people": {"ru": "Человек", "en": "People"},
    "admins_only": {"ru": "Эта страница только для администраторов.",
                    "en": "Only administrators can open this page."},
    "reviews_word": {"ru": "Повторений", "en": "Reviews"},
    "less": {"ru": "меньше", "en": "less"},
    "more": {"ru": "больше", "en": "more"},
    "months_short": {"ru": "янв фев мар апр май июн июл авг сен окт ноя дек",
                     "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"},
    "weekdays_short": {"ru": "пн вт ср чт пт сб вс", "en": "Mon Tue Wed Thu Fri Sat Sun"},
    "as_table": {"ru": "Числа таблицей", "en": "The numbers as a table"},
    "day": {"ru": "День", "en": "Day"},
    "week": {"ru": "Неделя с", "en": "Week of"},
    "due_forecast": {"ru": "Прогноз повторений на 30 дней",
                     "en": "Reviews due in the next 30 days"},
    "due_forecast_note": {"ru": "Просроченные карточки считаются на сегодня.",
                          "en": "Overdue cards count as due today."},
    "retention_by_week": {"ru": "Удержание по неделям и цель",
                          "en": "Retention by week against the target"},
    "retention_note": {"ru": "Доля повторений выученных карточек, на которых вы вспомнили "
                       "ответ (оценка выше «Снова»).",
                       "en": "The share of reviews of learned cards where you recalled the "
                       "answer (rated above Again)."},
    "target": {"ru": "цель", "en": "target"},
    "recalled": {"ru": "Вспомнили", "en": "Recalled"},
    "time_per_answer": {"ru": "Время на ответ (медиана за неделю)",
                        "en": "Time per answer (weekly median)"},
    "median": {"ru": "медиана", "en": "median"},
    "seconds_short": {"ru": "с", "en": "s"},
    "coverage_by_topic": {"ru": "Раскрытие ключевых пунктов по темам",
                          "en": "Key-point coverage by topic"},
    "by_week": {"ru": "По неделям", "en": "By week"},
    "covered_share": {"ru": "Раскрыто", "en": "Covered"},
    "most_missed": {"ru": "Ключевые пункты, которые вы упускаете чаще всего",
                    "en": "Key points you miss most"},
    "interviews": {"ru": "Собеседование", "en": "Mock interview"},
    "interview_title": {"ru": "Пробное собеседование", "en": "Mock interview"},
    "interview_intro": {"ru": "Несколько вопросов на время: отвечайте вслух или текстом, после "
                        "каждого ответа — уточняющий вопрос. Разборы и оценка — только в отчёте "
                        "в конце.",
                        "en": "A few questions against the clock, answered aloud or typed, each "
                        "followed by a follow-up question. Analyses and feedback wait for the "
                        "report at the end."},
    "interview_topics": {"ru": "Темы (не выбрано ни одной — все)",
                         "en": "Topics (none chosen: all of them)"},
    "interview_questions": {"ru": "Вопросов", "en": "Questions"},
    "interview_minutes": {"ru": "Минут", "en": "Minutes"},
    "interview_follow_ups": {"ru": "Уточняющий вопрос после каждого ответа",
                             "en": "A follow-up after each answer"},
    "interview_start": {"ru": "Начать собеседование", "en": "Start the interview"},
    "interview_case": {"ru": "Кейс по дизайну ML-системы, 45 минут",
                       "en": "An ML system design case, 45 minutes"},
    "interview_continue": {"ru": "Продолжить собеседование", "en": "Continue the interview"},
    "interview_past": {"ru": "Прошедшие собеседования", "en": "Past interviews"},
    "interview_none": {"ru": "Собеседований ещё не было.", "en": "No interviews yet."},
    "interview_trend": {"ru": "Раскрытие пунктов от собеседования к собеседованию",
                        "en": "Key points covered, interview by interview"},
    "interview_date": {"ru": "Начало", "en": "Started"},
    "interview_answered": {"ru": "Отвечено", "en": "Answered"},
    "interview_change": {"ru": "Изменение, п.п.", "en": "Change, points"},
    "interview_report": {"ru": "Отчёт", "en": "Report"},
    "interview_in_progress": {"ru": "идёт — продолжить", "en": "in progress: continue"},
    "question_n_of": {"ru": "Вопрос {number} из {total}", "en": "Question {number} of {total}"},
    "follow_up_to": {"ru": "Уточнение к вопросу {number}", "en": "Follow-up to question {number}"},
    "time_for_answer": {"ru": "Время на ответ", "en": "Time for this answer"},
    "over_time": {"ru": "сверх времени", "en": "over time"},
    "interview_ends_at": {"ru": "собеседование закончится в", "en": "the interview ends at"},
    "interview_answer": {"ru": "Ваш ответ", "en": "Your answer"},
    "interview_send_answer": {"ru": "Ответить", "en": "Send the answer"},
    "interview_end": {"ru": "Закончить собеседование сейчас", "en": "End the interview now"},
    "interview_locked_note": {"ru": "Разборы и оценка ответов откроются в отчёте, когда "
                              "собеседование закончится.",
                              "en": "Analyses and feedback open in the report once the "
                              "interview ends."},
    "interview_keys_hint": {"ru": "Ctrl+Enter — ответить, R — запись",
                            "en": "Ctrl+Enter sends the answer, R records"},
    "report_title": {"ru": "Отчёт о собеседовании", "en": "Interview report"},
    "minutes_short": {"ru": "мин", "en": "min"},
    "recovered_in_follow_ups": {"ru": "Пропущенных пунктов раскрыто в уточнениях",
                                "en": "Missed key points recovered in follow-ups"},
    "total_time": {"ru": "Общее время", "en": "Total time"},
    "strengths": {"ru": "Сильные ответы", "en": "Strengths"},
    "no_strengths": {"ru": "Ни один ответ не раскрыл трёх четвертей своих пунктов.",
                     "en": "No answer covered three quarters of its key points."},
    "weakest_points": {"ru": "Самые слабые ключевые пункты", "en": "Weakest key points"},
    "not_answered": {"ru": "Без ответа", "en": "Not answered"},
    "asked_because": {"ru": "Спросили, потому что не прозвучало",
                      "en": "Asked because the answer missed"},
    "recovered_points": {"ru": "Раскрыто в уточнении", "en": "Recovered in the follow-up"},
    "nothing_recovered": {"ru": "Пропущенные пункты в уточнении не прозвучали.",
                          "en": "The follow-up recovered none of the missed key points."},
    "open_analysis": {"ru": "Открыть разбор", "en": "Open the analysis"},
    "rate_answers": {"ru": "Оценить ответы", "en": "Rate the answers"},
    "rate_answers_hint": {"ru": "Оценки попадут в расписание повторений; предложенные уже "
                          "выбраны.",
                          "en": "The ratings go into the review schedule; the suggested ones "
                          "are already chosen."},
    "save_ratings": {"ru": "Сохранить оценки", "en": "Save the ratings"},
    "ratings_keys_hint": {"ru": "Tab и стрелки — выбрать, Ctrl+Enter — сохранить",
                          "en": "Tab and the arrow keys choose, Ctrl+Enter saves"},
    "readiness_title": {"ru": "Готовность к собеседованию", "en": "Interview readiness"},
    "readiness_date": {"ru": "Дата собеседования", "en": "Interview date"},
    "readiness_topics": {"ru": "Темы собеседования (если не отмечено ни одной — все)",
                         "en": "Topics it covers (none ticked: every topic)"},
    "readiness_on_track": {"ru": "Успеваете", "en": "On track"},
    "readiness_behind": {"ru": "Отставание: {n} карт.", "en": "Behind by {n} cards"},
    "readiness_pace": {"ru": "новых в день: {new} · повторений в день: около {reviews}",
                       "en": "new cards per day: {new} · reviews per day: about {reviews}"},
    "readiness_days_left": {"ru": "До собеседования дней: {days}; карточек в плане: {cards}.",
                            "en": "Days until the interview: {days}; cards in the plan: "
                            "{cards}."},
    "readiness_note": {"ru": "Карточка готова, если к дате её повторили хотя бы в три разных "
                       "дня и прогноз FSRS вспомнить её не ниже цели.",
                       "en": "A card is ready when it has been reviewed on at least three "
                       "days by then and FSRS predicts recall at or above the target."},
    "readiness_clear": {"ru": "Убрать дату", "en": "Clear the date"},
}


# The deck's topic folders by name; a topic that is only a card's tag keeps its own name.
TOPIC_NAMES: dict[str, dict[str, str]] = {
    "applied": {"ru": "Прикладные задачи", "en": "Applied problems"},
    "architectures": {"ru": "Архитектуры", "en": "Architectures"},
    "behavioural": {"ru": "Поведенческие вопросы", "en": "Behavioural questions"},
    "causal": {"ru": "Причинный вывод", "en": "Causal inference"},
    "classical-ml": {"ru": "Классическое ML", "en": "Classical ML"},
    "deep-learning": {"ru": "Глубокое обучение", "en": "Deep learning"},
    "distributed": {"ru": "Распределённое обучение", "en": "Distributed training"},
    "generative": {"ru": "Генеративные модели", "en": "Generative models"},
    "llm-inference": {"ru": "Инференс LLM", "en": "LLM inference"},
    "llm-training": {"ru": "Обучение LLM", "en": "LLM training"},
    "metrics": {"ru": "Метрики", "en": "Metrics"},
    "mlops": {"ru": "MLOps", "en": "MLOps"},
    "probability": {"ru": "Вероятность и математика", "en": "Probability and maths"},
    "recsys": {"ru": "Рекомендательные системы", "en": "Recommender systems"},
    "sql-coding": {"ru": "SQL и код", "en": "SQL and coding"},
    "statistics": {"ru": "Статистика", "en": "Statistics"},
    "system-design": {"ru": "Дизайн ML-систем", "en": "ML system design"},
    "time-series": {"ru": "Временные ряды", "en": "Time series"},
    "general": {"ru": "Общее", "en": "General"},
}

# Messages that the core and the speech service raise in English (the API and the CLI show
# them as they are), with their Russian wording for the pages. A message matches as a whole;
# its named parts (ids, numbers) are carried over.
MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(english, re.DOTALL), russian) for english, russian in (
        (r"type your attempt, or say that you answered aloud",
         "Напишите попытку или отметьте, что ответили вслух."),
        (r"the attempt is (?P<length>\d+) characters long; the limit is (?P<limit>\d+)",
         "В попытке {length} символов, а можно не больше {limit}."),
        (r"the attempt contains a NUL character \(\\x00\), which cannot be stored; remove it "
         r"and send the attempt again",
         "В попытке есть символ NUL (\\x00), его нельзя сохранить: удалите его и отправьте "
         "попытку снова."),
        (r"the attempt is not valid Unicode text: it has an unpaired surrogate at character "
         r"(?P<at>\d+)",
         "Попытка — не корректный текст Unicode: непарный суррогат в символе {at}."),
        (r"seconds must be between 0 and (?P<limit>\d+)",
         "Время ответа должно быть от 0 до {limit} секунд."),
        (r"the form lost its start time; reload the card",
         "Форма потеряла время начала ответа: обновите карточку."),
        (r"the form's start time has no timezone; reload the card",
         "У времени начала ответа нет часового пояса: обновите карточку."),
        (r"no card with id (?P<card>.+)", "Карточки с id {card} нет."),
        (r"no attempt with id (?P<id>\d+)", "Попытки с id {id} нет."),
        (r"no recording with id (?P<id>\d+)", "Записи с id {id} нет."),
        (r"recording (?P<id>\d+) belongs to card (?P<card>.+)",
         "Запись {id} сделана для другой карточки: {card}."),
        (r"recording (?P<id>\d+) is not transcribed yet \(\w+\)",
         "Запись {id} ещё не расшифрована."),
        (r"attempt (?P<id>\d+) belongs to card (?P<card>.+), not (?P<other>.+)",
         "Попытка {id} относится к карточке {card}, а не {other}."),
        (r"attempt (?P<id>\d+) is already rated (?P<rating>\w+)",
         "Попытка {id} уже оценена: «{rating}»."),
        (r"rating must be 1-4 or again/hard/good/easy, not (?P<value>.+)",
         "Оценка — число от 1 до 4 (или again/hard/good/easy), а не {value}."),
        (r"make an attempt at this card before opening its analysis",
         "Разбор откроется после вашей попытки ответить на эту карточку."),
        (r"make an attempt at this card before opening its lab",
         "Лаборатория откроется после вашей попытки ответить на эту карточку."),
        (r"card (?P<card>.+) has no lab", "У карточки {card} нет лаборатории."),
        (r"speech is not enabled on this server: pip install 'razbor\[speech\]' and restart it",
         "Запись ответов на этом сервере выключена: pip install 'razbor[speech]' и "
         "перезапустите его."),
        (r"too many recordings are waiting to be transcribed; try again in a minute",
         "В очереди на расшифровку слишком много записей: попробуйте через минуту."),
        (r"the recording is empty", "Запись пустая."),
        (r"the recording is (?P<seconds>\d+) s long; the limit is (?P<limit>\d+) s",
         "Запись длится {seconds} с, а можно не больше {limit} с."),
        (r"the recording is larger than (?P<size>\d+) MB", "Запись больше {size} МБ."),
        (r"not an audio file: .*", "Это не аудиофайл."),
        (r"the file has no audio stream", "В файле нет звуковой дорожки."),
        (r"unsupported audio codec", "Этот аудиокодек не поддерживается."),
        (r"the audio cannot be decoded: .*", "Звук в файле не удаётся декодировать."),
        (r"(?P<container>.+) files are not accepted; send WAV, WebM, Ogg, MP4/M4A, MP3 or FLAC",
         "Файлы {container} не принимаются: пришлите WAV, WebM, Ogg, MP4/M4A, MP3 или FLAC."),
        (r"no interview with id (?P<id>\d+)", "Собеседования с id {id} нет."),
        (r"finish the interview before opening its report",
         "Отчёт откроется, когда собеседование закончится."),
        (r"finish the interview before rating its answers",
         "Оценить ответы можно, когда собеседование закончится."),
        (r"questions must be between 1 and (?P<limit>\d+)",
         "Вопросов может быть от 1 до {limit}."),
        (r"minutes must be between 1 and (?P<limit>\d+)",
         "Собеседование может длиться от 1 до {limit} минут."),
        (r"no topic named (?P<topic>.+); the deck's topics include .*", "Темы {topic} в колоде нет."),
        (r"the deck has no cards for this interview",
         "В колоде нет карточек для такого собеседования."),
        (r"attempt (?P<id>\d+) is not an answer of interview (?P<interview>\d+)",
         "Попытка {id} — не ответ собеседования {interview}."),
        (r"The (?P<grader>\S+) grader failed \((?P<reason>.*)\); showing the built-in "
         r"grader's feedback instead\.",
         "Оценщик {grader} не сработал ({reason}); показан разбор встроенного оценщика."),
        (r"choose the interview date \(YYYY-MM-DD\)",
         "Выберите дату собеседования (ГГГГ-ММ-ДД)."),
        (r"the date must be written YYYY-MM-DD, not (?P<value>.+)",
         "Дату нужно записать как ГГГГ-ММ-ДД, а не {value}."),
        (r"the interview date must be after today \((?P<today>[\d-]+)\)",
         "Дата собеседования должна быть позже сегодняшней ({today})."),
        (r"the interview date must be within (?P<days>\d+) days of today",
         "Дата собеседования — не дальше {days} дней от сегодняшней."),
        (r"choose at most (?P<limit>\d+) topics", "Выберите не больше {limit} тем."),
        (r"no topic named (?P<topic>.+) in the deck", "Темы {topic} в колоде нет."),
    ))
RATING_NAMES = ("again", "hard", "good", "easy")


class Translator:
    """The interface in one language: keyed strings, topic names and the core's messages.

    Called with a key it returns that string; an unknown key falls back to the key itself.
    """

    def __init__(self, lang: str):
        self.lang = lang if lang in LANGUAGES else "ru"

    def __call__(self, key: str) -> str:
        return STRINGS.get(key, {}).get(self.lang, key)

    def topic(self, name: str) -> str:
        """A topic folder's name in this language; a tag is shown as it is written."""
        return TOPIC_NAMES.get(name, {}).get(self.lang, name)

    def message(self, text: str) -> str:
        """A message the core raised in English, reworded when it is a known one.

        The core's exceptions stay in English for the API and the CLI; only pages translate.
        """
        if self.lang == "en":
            return text
        for english, russian in MESSAGES:
            found = english.fullmatch(text)
            if found:
                parts = found.groupdict()
                if parts.get("rating") in RATING_NAMES:
                    parts["rating"] = self(f"rating_{RATING_NAMES.index(parts['rating']) + 1}")
                return russian.format(**parts)
        return text

    def instruction(self, text: str) -> str:
        """A card's instruction; the deck's default one is shown in this language."""
        return self("default_instruction") if text == DEFAULT_INSTRUCTION else text


def translator(lang: str) -> Translator:
    """The interface for one language, falling back to Russian for an unknown one."""
    return Translator(lang)

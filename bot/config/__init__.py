"""Configuration: the TOML file validated at load into one typed model, :class:`Settings` (pydantic), one section
a model, each used as it is by what it configures; secrets only from the environment.

Everything ``newsbrief run`` needs is checked when the file is read (``[[subscriptions]]``, ``[templates.NAME]`` and
``[live]`` included), so ``newsbrief doctor`` refuses what ``run`` would. Every error is one line naming the file,
the key path (``feeds[2].url``) and what was expected (:class:`ConfigError`). Unknown keys are errors too
(config/newsbrief.example.toml documents every key), so that a typo never silently does nothing. Durations are
written "15m", "2h", "30s", "1d", "500ms" or as seconds, and read as :class:`~datetime.timedelta`; they are
written for people by :func:`duration_text`.
"""

from bot.config._errors import SECRET_VARIABLES
from bot.config._load import load_settings, read_config_file, settings_from_mapping
from bot.config._models import (
    DEFAULT_STORE_URL,
    JOB_ENGINES,
    SLACK_SCOPES,
    DemoConfig,
    DigestsConfig,
    DiscordConfig,
    FeedConfig,
    HttpConfig,
    JobsConfig,
    LiveSettings,
    NetworkConfig,
    PollConfig,
    SchedulerConfig,
    Settings,
    SlackConfig,
    StoreConfig,
)
from bot.config._subscriptions import (
    PLATFORMS,
    SubscriptionConfig,
    SubscriptionError,
    check_subscription,
    parse_sources,
)
from bot.config._values import PROJECT_URL, duration_text, parse_duration, parse_listen, resolve_file_url, user_agent
from bot.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_STORE_URL",
    "JOB_ENGINES",
    "PLATFORMS",
    "PROJECT_URL",
    "SECRET_VARIABLES",
    "SLACK_SCOPES",
    "ConfigError",
    "DemoConfig",
    "DigestsConfig",
    "DiscordConfig",
    "FeedConfig",
    "HttpConfig",
    "JobsConfig",
    "LiveSettings",
    "NetworkConfig",
    "PollConfig",
    "SchedulerConfig",
    "Settings",
    "SlackConfig",
    "StoreConfig",
    "SubscriptionConfig",
    "SubscriptionError",
    "check_subscription",
    "duration_text",
    "load_settings",
    "parse_duration",
    "parse_listen",
    "parse_sources",
    "read_config_file",
    "resolve_file_url",
    "settings_from_mapping",
    "user_agent",
]

CONFIG_ENV = "NEWSBRIEF_CONFIG"

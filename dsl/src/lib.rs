//! The mcmr-kit spec language.

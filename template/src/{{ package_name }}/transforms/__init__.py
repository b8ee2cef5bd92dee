"""The team's business transformations. Yours after day one: `copier update` leaves them alone."""

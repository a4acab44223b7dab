"""Teams: accounts whose credits several people share, with roles and monthly caps."""

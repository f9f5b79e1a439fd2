"""Product reviews and ratings: shoppers' reviews, their moderation, and the rating
summary kept on each product (`Product.rating_average`, `rating_count`)."""

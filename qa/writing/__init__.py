"""Writing: a language model writes the answer from the chosen sentences, and every marker, number, date and name it writes is checked against them."""

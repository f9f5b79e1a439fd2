"""The customer-service inbox: shoppers' messages from the contact page and by email,
threaded into conversations the merchant answers from the back office.

`models` holds the tables; `conversations` opens, continues and answers them;
`links` signs the thread link shoppers get by email; `attachments` keeps their files
private; `faq` matches questions to the shop's FAQ; `classifier` gives each
conversation a topic (keyword rules, then a model per shop); `inbound` reads a mail
provider's signed webhook; `emails` and `jobs` send what follows a commit.
"""

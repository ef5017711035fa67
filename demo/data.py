"""The demo business loaded by `manage.py seed_demo`: a retail bank's help articles."""

from __future__ import annotations

ARTICLES: list[dict[str, str]] = [
    {
        "title": "Lost or stolen card",
        "questions": "I lost my card\nmy card was stolen\nfreeze my card\nblock my debit card",
        "answer": "Freeze your card straight away in the app (Cards > Freeze) or call 0800 123 4567, open 24/7. Once frozen, no new payments go through. You can order a replacement from the same screen; it arrives in 3 to 5 working days.",
    },
    {
        "title": "Order a replacement card",
        "questions": "my card is damaged\nnew card\nreplacement card\ncard expired\ncash machine kept my card\ncard stuck in the cash machine\natm swallowed my card",
        "answer": "In the app, go to Cards > Replace card and choose the reason. A replacement arrives in 3 to 5 working days and your PIN stays the same. Your old card stops working once you activate the new one.",
    },
    {
        "title": "Forgot my PIN",
        "questions": "forgot pin\nview my pin\nchange pin\npin locked",
        "answer": "You can view your PIN in the app under Cards > Show PIN after confirming with your fingerprint or passcode. To change it, use any of our cash machines. After three wrong PINs the card locks; unlock it by entering the right PIN at one of our cash machines.",
    },
    {
        "title": "Reset online banking password",
        "questions": "forgot password\nreset password\ncan't log in\nlocked out of online banking",
        "answer": 'On the sign-in page choose "Forgotten your password?", enter your customer number and follow the code we text to your registered phone. Never share that code with anyone, including us: we will never ask for it.',
    },
    {
        "title": "Opening hours",
        "questions": "when are you open\nbranch hours\nopening times\nare you open on sunday",
        "answer": "Branches are open Monday to Friday 9:00 to 17:00 and Saturday 9:00 to 12:30. Phone support is open 8:00 to 20:00 every day, and card emergencies are handled 24/7.",
    },
    {
        "title": "Find a branch or cash machine",
        "questions": "nearest branch\nwhere is an atm\ncash machine near me",
        "answer": "Use the branch finder at harborbank.example/branches or the Map tab in the app. You can withdraw cash for free at any cash machine in the country.",
    },
    {
        "title": "International transfers",
        "questions": "send money abroad\ninternational payment\nswift transfer\nwire money overseas",
        "answer": "In the app choose Payments > International. You need the recipient's IBAN or account number and the bank's SWIFT/BIC code. Transfers in euros to SEPA countries are free and arrive the next working day; other currencies cost 5.00 and take 2 to 4 working days.",
    },
    {
        "title": "Payment limits",
        "questions": "transfer limit\nhow much can I send\ndaily limit\nincrease my limit\nhow much cash can I take out per day\ncash withdrawal limit\natm limit",
        "answer": "You can send up to 10,000 a day in the app and 25,000 a day in online banking. Card payments are limited to 5,000 a day and cash withdrawals to 500 a day. To raise a limit temporarily, go to Settings > Limits; larger changes need a call with our team.",
    },
    {
        "title": "Report a suspicious transaction or fraud",
        "questions": "I don't recognise a payment\nfraud on my account\nunknown transaction\nI was scammed",
        "answer": "Freeze your card in the app first, then report the payment under Transactions > (the payment) > Report a problem. If you were tricked into sending money, call us at once on 0800 123 4567: the sooner we know, the more likely we can recover it.",
    },
    {
        "title": "Dispute a card payment",
        "questions": "chargeback\nrefund not received\nmerchant won't refund\ndispute a charge\ncharged twice for the same purchase\ndouble charged\nwrong amount taken",
        "answer": "First ask the merchant for a refund. If they don't help within 14 days, open the payment in the app and choose Dispute. We'll ask for any receipts or messages and usually decide within 30 days.",
    },
    {
        "title": "Account fees",
        "questions": "monthly fee\nhow much does the account cost\ncharges on my account\nfees",
        "answer": "The Everyday account is free. The Plus account costs 4.00 a month and includes travel insurance and fee-free spending abroad. Unarranged overdrafts are not charged; arranged overdrafts cost 19.9% APR.",
    },
    {
        "title": "Open a new account",
        "questions": "open an account\nbecome a customer\nnew current account\nsign up",
        "answer": "Download the Harbor Bank app and choose Open an account. You'll need photo ID (passport or driving licence) and about 10 minutes. Most accounts are open the same day.",
    },
    {
        "title": "Close my account",
        "questions": "close account\ncancel my account\nleave the bank",
        "answer": "Move any money out and cancel direct debits first, then go to Settings > Close account in the app, or ask us in chat. We send a closing statement within 10 working days.",
    },
    {
        "title": "Overdraft",
        "questions": "apply for an overdraft\noverdraft limit\nI'm overdrawn",
        "answer": "Apply in the app under Borrowing > Overdraft; you get a decision in minutes. The rate is 19.9% APR on what you use, and there's no fee for going over your limit, although payments may be refused.",
    },
    {
        "title": "Personal loans",
        "questions": "borrow money\napply for a loan\nloan rates\nloan repayment",
        "answer": "Personal loans from 1,000 to 25,000 over 1 to 7 years. Check your rate in the app without affecting your credit score. Early repayment is free for loans under 5 years.",
    },
    {
        "title": "Mortgages",
        "questions": "mortgage\nhome loan\nremortgage\nbuying a house",
        "answer": "Our mortgage advisers are available by appointment. Book a call in the app under Borrowing > Mortgages, or call 0800 123 4570 Monday to Friday 9:00 to 18:00.",
    },
    {
        "title": "Savings accounts and interest rates",
        "questions": "savings rate\ninterest rate\nopen a savings account\nisa",
        "answer": "The Easy Saver pays 3.1% AER variable with instant access; the 1-year Fixed Saver pays 3.9% AER. Open either in the app under Save. Interest is paid monthly.",
    },
    {
        "title": "Direct debits and standing orders",
        "questions": "cancel a direct debit\nset up a standing order\nrecurring payment",
        "answer": "Manage both under Payments > Regular payments in the app. Cancel a direct debit at least one working day before it's due. The Direct Debit Guarantee refunds any payment taken in error.",
    },
    {
        "title": "Statements",
        "questions": "download statement\nbank statement\nproof of address\nget my statements",
        "answer": "Statements for the last 7 years are in the app under Account > Statements, as PDF or CSV. An official stamped statement for proof of address can be requested from the same screen.",
    },
    {
        "title": "Change my address or phone number",
        "questions": "update address\nmoved house\nchange phone number\nchange email",
        "answer": "Update your details under Settings > Personal details. A new phone number needs a confirmation code sent to the old number, or a quick video call if you no longer have it.",
    },
    {
        "title": "Using my card abroad",
        "questions": "travel abroad\nusing card overseas\ncard not working abroad\nforeign transaction fee",
        "answer": "Your card works worldwide; no need to tell us you're travelling. The Everyday account charges 2.75% on foreign spending; the Plus account charges nothing. Always choose to pay in the local currency.",
    },
    {
        "title": "Contactless and mobile payments",
        "questions": "apple pay\ngoogle pay\ncontactless limit\nadd card to phone",
        "answer": "Add your card to Apple Pay or Google Pay from the Cards tab in the app. The contactless limit on the card is 100 per payment; with your phone there's no set limit.",
    },
    {
        "title": "Cheques",
        "questions": "pay in a cheque\ndeposit cheque\ncheque clearing",
        "answer": "Pay in a cheque by photographing it in the app (Payments > Pay in a cheque), at a branch, or by post. Money is available by 23:59 on the next working day.",
    },
    {
        "title": "Cash deposits",
        "questions": "deposit cash\npay in cash\ncash at the post office",
        "answer": "Pay in cash at any branch or at the Post Office with your card. Deposits at a branch are available immediately; Post Office deposits arrive the same day.",
    },
    {
        "title": "Joint accounts",
        "questions": "joint account\nadd someone to my account\nshared account",
        "answer": "Either of you can apply in the app under Account > Add a joint holder. Both of you need to confirm your identity. Each holder gets their own card and app access.",
    },
    {
        "title": "Power of attorney and bereavement",
        "questions": "power of attorney\nsomeone has died\nmy husband died\nmy wife passed away\ndeath of a relative\nbereavement\nmanage an account for someone",
        "answer": "We're sorry for your loss. Call our bereavement team on 0800 123 4580, or register a power of attorney at any branch. We'll guide you through each step and can freeze outgoing payments straight away.",
    },
    {
        "title": "Complaints",
        "questions": "make a complaint\nunhappy with service\ncomplain",
        "answer": "We're sorry things went wrong. Tell us here and an agent will log your complaint, or write to Complaints, Harbor Bank, PO Box 100. We reply in full within 15 working days.",
    },
    {
        "title": "App not working",
        "questions": "app crashed\napp won't open\nerror in the app\nupdate the app",
        "answer": "Make sure you have the latest version from your app store and restart your phone. If it still fails, check status.harborbank.example for any outage. Signing out and back in fixes most issues.",
    },
    {
        "title": "How we protect you from scams",
        "questions": "is this call really from the bank\nphishing\nsuspicious text message\nsecurity",
        "answer": 'We will never ask for your PIN, full password or a code we texted you, and never ask you to move money to a "safe account". If in doubt, hang up and call the number on the back of your card.',
    },
    {
        "title": "Your data and privacy",
        "questions": "delete my data\nwhat data do you keep\nprivacy\nget a copy of my data",
        "answer": "Our privacy notice at /privacy/ explains what this chat keeps, for how long and who can read it, and how to ask for a copy or for deletion.",
    },
]

# Canned replies for the console: (owner's username or None for shared, shortcut, title, body).
CANNED_REPLIES: list[tuple[str | None, str, str, str]] = [
    (
        None,
        "greet",
        "Greeting",
        "Hello {customer_first_name}, this is {agent_first_name} at {business_name}. How can I help you today?",
    ),
    (
        None,
        "freeze",
        "Freeze a card",
        "You can freeze your card straight away in the app under Cards > Freeze, or call 0800 123 4567 (24/7).",
    ),
    (
        "alex",
        "thanks",
        "Thanks and goodbye",
        "Thanks for your patience, {customer_first_name}. Is there anything else I can help with? {agent_first_name}",
    ),
]

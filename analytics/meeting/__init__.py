"""Review meetings (周调度、月分析、季评估): the facts, the deck and its PPTX and PDF writers; the page data is analytics.pages.meeting."""

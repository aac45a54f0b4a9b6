"""The Partner's view page: the billing dashboard a sandbox partner's MSP would see."""

"""Call and contact lists cut from the published marts, for the staff and marketing (`crm lists`,
`crm segments`)."""

"""One OpenADR 2.0b VEN per household (openleadr OpenADRClient), handing events to its control loop."""

FIRST_STEP = "echo"
